/**
 * The first of the two checks on URLs a team gives (SPEC §13; core/url-guard.ts): a literal private
 * address or `localhost` is refused when given, naming the field, so a mistake shows at once rather than
 * as failed calls later. The second check, at connect time after DNS, is the outbound agent's.
 */
import { GW_ERR_API_URL_NOT_ALLOWED } from '../core/errors.js'
import { ALLOW_PRIVATE_HINT, urlProblem } from '../core/url-guard.js'
import type { ApiDeps } from './api-deps.js'

/** Throws 422 `url_not_allowed` naming `field` when `url` may not be called for a team. */
export function checkTeamUrl(deps: Pick<ApiDeps, 'allowPrivateUrls'>, url: unknown, field: string): void {
  if (deps.allowPrivateUrls || typeof url !== 'string') return
  const problem = urlProblem(url)
  if (problem !== null) throw GW_ERR_API_URL_NOT_ALLOWED(`"${field}": ${problem}; ${ALLOW_PRIVATE_HINT}.`, { field })
}

/** The URLs of a bot config a team gives: an http bot's `url`, an llm's `base_url` and its sections'. */
export function checkBotUrls(deps: Pick<ApiDeps, 'allowPrivateUrls'>, config: Record<string, unknown>): void {
  checkTeamUrl(deps, config.url, 'config.url')
  checkTeamUrl(deps, config.base_url, 'config.base_url')
  for (const section of ['transcription', 'speech']) {
    const value = config[section]
    if (typeof value === 'object' && value !== null) checkTeamUrl(deps, (value as Record<string, unknown>).base_url, `config.${section}.base_url`)
  }
}
