/**
 * The credential check of a Meta provider: the WhatsApp Business Account must be readable with the
 * token (`GET /{business_id}?fields=id,name`, bearer). One read that proves both settings the gateway
 * calls Graph with: an expired token answers 190, a WABA the token cannot see answers 100.
 * @see https://developers.facebook.com/documentation/business-messaging/whatsapp/reference/whatsapp-business-account/whatsapp-business-account-api
 */
import { GW_ERR_PROVIDER_UNREACHABLE } from '../../core/errors.js'
import { callApi, describeNetworkError, lookupError, parseJsonObject } from '../provider-http.js'
import type { ProviderDeps } from '../provider.js'
import type { MetaConfig } from './meta-config.js'
import { classifyGraphError, graphReason, redactProviderError, redactSecrets } from './meta-errors.js'
import { graphBase } from './meta-http.js'

/** A WABA name longer than this is cut in the evidence sentence. */
const NAME_SHOWN = 80

/** Reads the WABA with the token; resolves with `WABA 1234 "Acme" is readable with this token`. */
export async function checkMetaCredentials(config: MetaConfig, deps: ProviderDeps): Promise<string> {
  const base = graphBase(deps)
  const url = new URL(`${base}/${deps.urls.metaGraphVersion}/${encodeURIComponent(config.business_id)}?${new URLSearchParams({ fields: 'id,name' })}`)
  const headers = { authorization: `Bearer ${config.access_token}`, accept: 'application/json' }
  const { statusCode, text } = await callApi(url, { method: 'GET', headers }, deps, (error) =>
    GW_ERR_PROVIDER_UNREACHABLE(`Meta's Graph API at ${url.origin} could not be reached: ${describeNetworkError(error)}`, { cause: error }),
  )
  if (statusCode !== 200) {
    const reason = graphReason(statusCode, text, config)
    const cause = redactProviderError(classifyGraphError(statusCode, text), [config.access_token])
    throw lookupError(statusCode, cause, {
      refused: `Meta's Graph API refused to show WhatsApp Business Account ${config.business_id} to this token: ${reason}`,
      failed: `Meta's Graph API could not show WhatsApp Business Account ${config.business_id} (${reason}); try again in a moment.`,
    })
  }
  const body = parseJsonObject(text)
  if (body === null) {
    throw GW_ERR_PROVIDER_UNREACHABLE(`Meta's Graph API answered the read of WhatsApp Business Account ${config.business_id} with a body that is not JSON.`)
  }
  const name = typeof body.name === 'string' && body.name.trim() !== '' ? redactSecrets(body.name.trim(), [config.access_token]) : null
  const shown = name === null ? '' : ` "${name.length > NAME_SHOWN ? `${name.slice(0, NAME_SHOWN)}…` : name}"`
  return `WABA ${config.business_id}${shown} is readable with this token.`
}
