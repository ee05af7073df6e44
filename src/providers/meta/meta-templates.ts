/**
 * Lists a WhatsApp Business Account's message templates (every page of
 * `GET /{business_id}/message_templates`) in the provider-neutral `ProviderTemplate` shape: language
 * written with `_`, and the body's placeholders as the params a send must give.
 * @see https://developers.facebook.com/documentation/business-messaging/whatsapp/reference/whatsapp-business-account/template-api
 */
import { GW_ERR_PROVIDER_UNREACHABLE } from '../../core/errors.js'
import { callApi, describeNetworkError, lookupError } from '../provider-http.js'
import type { ProviderDeps, ProviderTemplate } from '../provider.js'
import type { MetaConfig } from './meta-config.js'
import { classifyGraphError, graphReason, redactProviderError } from './meta-errors.js'
import { nextPageUrl } from './meta-numbers.js'

/** `GET /{waba-id}/message_templates` as Meta answers it, read defensively. */
interface GraphMessageTemplatesPage {
  data?: GraphMessageTemplate[]
  paging?: { next?: string }
}

interface GraphMessageTemplate {
  id?: string | number
  name?: string
  language?: string
  status?: string
  category?: string
  parameter_format?: string
  components?: GraphTemplateComponent[]
}

interface GraphTemplateComponent {
  type?: string
  text?: string
  example?: { body_text_named_params?: { param_name?: string }[] }
}

/** 6,000 templates (Meta's cap per verified account) at 100 a page, with room to spare. */
const MAX_PAGES = 100
const FIELDS = 'name,language,status,category,parameter_format,components,id'

/**
 * Every template of the account, all pages. Throws `GW_ERR_PROVIDER_REFUSED` (Graph said no) or
 * `GW_ERR_PROVIDER_UNREACHABLE`, with Graph's words.
 */
export async function listMetaTemplates(config: MetaConfig, deps: ProviderDeps): Promise<ProviderTemplate[]> {
  const base = new URL(deps.urls.metaGraphUrl.replace(/\/+$/, ''))
  const baseText = base.href.replace(/\/+$/, '')
  const query = new URLSearchParams({ fields: FIELDS, limit: '100' })
  let url: URL | null = new URL(`${baseText}/${deps.urls.metaGraphVersion}/${encodeURIComponent(config.business_id)}/message_templates?${query}`)
  const templates: ProviderTemplate[] = []
  for (let page = 0; url !== null && page < MAX_PAGES; page++) {
    const body = await fetchPage(url, config, deps)
    for (const item of Array.isArray(body.data) ? body.data : []) {
      const template = readTemplate(item)
      if (template !== null) templates.push(template)
    }
    const next = body.paging?.next
    url = typeof next === 'string' && next !== '' ? nextPageUrl(next, base, baseText) : null
  }
  return templates
}

async function fetchPage(url: URL, config: MetaConfig, deps: ProviderDeps): Promise<GraphMessageTemplatesPage> {
  const headers = { authorization: `Bearer ${config.access_token}`, accept: 'application/json' }
  const { statusCode, text } = await callApi(url, { method: 'GET', headers }, deps, (error) =>
    GW_ERR_PROVIDER_UNREACHABLE(`Meta's Graph API at ${url.origin} could not be reached: ${describeNetworkError(error)}`, { cause: error }),
  )
  if (statusCode !== 200) {
    const reason = graphReason(statusCode, text, config)
    const cause = redactProviderError(classifyGraphError(statusCode, text), [config.access_token])
    throw lookupError(statusCode, cause, {
      refused: `Meta's Graph API refused to list the message templates: ${reason}`,
      failed: `Meta's Graph API could not list the message templates (${reason}); try again in a moment.`,
    })
  }
  try {
    const body: unknown = JSON.parse(text)
    if (typeof body === 'object' && body !== null) return body as GraphMessageTemplatesPage
  } catch {
    // Falls through to the error below.
  }
  throw GW_ERR_PROVIDER_UNREACHABLE("Meta's Graph API answered the template list with a body that is not JSON.")
}

function readTemplate(item: GraphMessageTemplate): ProviderTemplate | null {
  if (typeof item !== 'object' || item === null) return null
  const { name, language, status } = item
  if (typeof name !== 'string' || name === '' || typeof language !== 'string' || language === '') return null
  const components = Array.isArray(item.components) ? item.components : []
  const body = components.find((c) => typeof c === 'object' && c !== null && String(c.type).toUpperCase() === 'BODY')
  const placeholders = body === undefined ? [] : bodyParams(body)
  const declared = typeof item.parameter_format === 'string' ? item.parameter_format.toUpperCase() : null
  // Meta's default is positional; an older answer without the field is read from the placeholders.
  const parameterFormat = declared === 'NAMED' || (declared === null && placeholders.some((p) => !/^\d+$/.test(p))) ? 'NAMED' : 'POSITIONAL'
  const params =
    parameterFormat === 'NAMED'
      ? placeholders
      : placeholders
          .filter((p) => /^\d+$/.test(p))
          .map(Number)
          .sort((a, b) => a - b)
          .map(String)
  return {
    name,
    language: language.trim().replace(/-/g, '_'),
    status: typeof status === 'string' && status !== '' ? status.toUpperCase() : 'UNKNOWN',
    category: typeof item.category === 'string' && item.category !== '' ? item.category.toUpperCase() : null,
    parameterFormat,
    params,
    components,
    providerTemplateId: typeof item.id === 'string' || typeof item.id === 'number' ? String(item.id) : null,
  }
}

/**
 * The body's parameters: the `{{…}}` placeholders of its text in order of first appearance, plus any
 * named in `example.body_text_named_params` the text does not show. A header's variable is not among
 * them: a send gives it as its `header`.
 */
function bodyParams(component: GraphTemplateComponent): string[] {
  const seen: string[] = []
  const add = (name: string) => {
    if (name !== '' && !seen.includes(name)) seen.push(name)
  }
  if (typeof component.text === 'string') for (const match of component.text.matchAll(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g)) add(match[1] ?? '')
  const named = component.example?.body_text_named_params
  if (Array.isArray(named)) for (const entry of named) if (typeof entry?.param_name === 'string') add(entry.param_name)
  return seen
}
