/**
 * Checks a template message's parameters against what the template takes, before anything is queued:
 * WhatsApp refuses a mismatch only after the send (132000, 132012), when nobody is watching.
 */
import type { TemplateOutbound } from './outbound.js'

/** What the gateway knows of a synced template. */
export interface TemplateFacts {
  status: string
  parameterFormat: 'POSITIONAL' | 'NAMED' | string
  /** `["1","2"]` for positional, names for named. */
  params: readonly string[]
}

/** The problem with a send's parameters, or null when they fit. */
export function templateParamsProblem(message: TemplateOutbound, template: TemplateFacts): string | null {
  const takes = template.params
  const described = takes.length === 0 ? 'no parameters' : template.parameterFormat === 'NAMED' ? `named parameters ${takes.map((p) => `"${p}"`).join(', ')}` : `${takes.length} positional parameter${takes.length === 1 ? '' : 's'} ({{1}}…{{${takes.length}}})`
  const given = message.params
  if (given === undefined) return takes.length === 0 ? null : `"params" is missing; the template ${JSON.stringify(message.name)} takes ${described}`
  if (Array.isArray(given)) {
    if (template.parameterFormat === 'NAMED' && takes.length > 0) return `"params" is a list, but the template takes ${described}; send an object`
    if (given.length !== takes.length) return `"params" has ${given.length} value${given.length === 1 ? '' : 's'}, but the template takes ${described}`
    return null
  }
  if (template.parameterFormat !== 'NAMED') return `"params" is an object, but the template takes ${described}; send a list`
  const missing = takes.filter((name) => !Object.hasOwn(given, name))
  const unknown = Object.keys(given).filter((name) => !takes.includes(name))
  if (missing.length > 0) return `"params" lacks ${missing.map((p) => `"${p}"`).join(', ')}; the template takes ${described}`
  if (unknown.length > 0) return `"params" names ${unknown.map((p) => `"${p}"`).join(', ')}, which the template does not take; it takes ${described}`
  return null
}

/** Languages as the gateway keys them: `en-US` and `en_US` are one language. */
export function normaliseLanguage(language: string): string {
  return language.trim().replace(/-/g, '_')
}
