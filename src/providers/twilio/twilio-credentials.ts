/**
 * The credential check of a Twilio provider: the account must answer to its own SID and auth token
 * (`GET /2010-04-01/Accounts/{sid}.json`, HTTP Basic). A wrong token answers 401 (code 20003); an account
 * that answers but is suspended or closed cannot send, so it is a refusal too.
 * @see https://www.twilio.com/docs/iam/api/account#fetch-an-account-resource
 */
import { GW_ERR_PROVIDER_REFUSED, GW_ERR_PROVIDER_UNREACHABLE } from '../../core/errors.js'
import { callApi, describeNetworkError, lookupError, parseJsonObject } from '../provider-http.js'
import type { ProviderDeps } from '../provider.js'
import type { TwilioConfig } from './twilio-config.js'
import { classifyTwilioError, twilioReason } from './twilio-errors.js'
import { basicAuth } from './twilio-numbers.js'
import type { TwilioAccountResource } from './twilio-wire.js'

/** A friendly name longer than this is cut in the evidence sentence. */
const NAME_SHOWN = 80

/** Fetches the account with its credentials; resolves with `Twilio account AC… "Acme" answers (active, Full).` */
export async function checkTwilioCredentials(config: TwilioConfig, deps: ProviderDeps): Promise<string> {
  const base = deps.urls.twilioApiUrl.replace(/\/+$/, '')
  const url = new URL(`${base}/2010-04-01/Accounts/${encodeURIComponent(config.account_sid)}.json`)
  const headers = { authorization: basicAuth(config), accept: 'application/json' }
  const { statusCode, text } = await callApi(url, { method: 'GET', headers }, deps, (error) =>
    GW_ERR_PROVIDER_UNREACHABLE(`Twilio's API at ${url.origin} could not be reached: ${describeNetworkError(error)}`, { cause: error }),
  )
  if (statusCode !== 200) {
    const reason = twilioReason(statusCode, text)
    throw lookupError(statusCode, classifyTwilioError(statusCode, text), {
      refused: `Twilio refused to show account ${config.account_sid} to these credentials: ${reason}.`,
      failed: `Twilio could not show account ${config.account_sid} (${reason}); try again in a moment.`,
    })
  }
  const body = parseJsonObject(text) as TwilioAccountResource | null
  if (body === null) throw GW_ERR_PROVIDER_UNREACHABLE(`Twilio answered the read of account ${config.account_sid} with a body that is not JSON.`)
  const status = typeof body.status === 'string' && body.status !== '' ? body.status : null
  const name = typeof body.friendly_name === 'string' && body.friendly_name.trim() !== '' ? body.friendly_name.trim() : null
  const shown = name === null ? '' : ` "${name.length > NAME_SHOWN ? `${name.slice(0, NAME_SHOWN)}…` : name}"`
  if (status !== null && status !== 'active') {
    // The credentials work, but Twilio sends nothing for such an account: no token is at fault.
    throw GW_ERR_PROVIDER_REFUSED(
      `Twilio account ${config.account_sid}${shown} answers, but its status is "${status}": Twilio sends nothing for it until it is active again (Twilio Console > Account).`,
    )
  }
  const facts = [status, typeof body.type === 'string' && body.type !== '' ? body.type : null].filter((fact) => fact !== null)
  return `Twilio account ${config.account_sid}${shown} answers to these credentials${facts.length === 0 ? '' : ` (${facts.join(', ')})`}.`
}
