/**
 * Lists a Twilio account's Content API templates with their WhatsApp approvals (every page of
 * `GET {content}/v1/ContentAndApprovals`): `name` is the content SID (`HX…`), which a send names as
 * `ContentSid`, and `params` are the keys of its `variables` (`{{1}}`…), in number order.
 * @see https://www.twilio.com/docs/content/content-api-resources
 */
import { GW_ERR_PROVIDER_UNREACHABLE } from '../../core/errors.js'
import { callApi, describeNetworkError, lookupError } from '../provider-http.js'
import type { ProviderDeps, ProviderTemplate } from '../provider.js'
import type { TwilioConfig } from './twilio-config.js'
import { classifyTwilioError, twilioReason } from './twilio-errors.js'
import { basicAuth } from './twilio-numbers.js'

/** Twilio's own Content API, when the composition root names none. */
const DEFAULT_CONTENT_URL = 'https://content.twilio.com'
/** 6,000 templates at 500 a page, with room to spare. */
const MAX_PAGES = 50
/** A content without a WhatsApp approval request: it can be sent inside the window only. */
const UNSUBMITTED = 'UNSUBMITTED'

/** `GET /v1/ContentAndApprovals` as Twilio answers it, read defensively. */
interface ContentAndApprovalsPage {
  contents?: TwilioContent[]
  meta?: { next_page_url?: string | null }
}

interface TwilioApproval {
  name?: string
  category?: string
  status?: string
  rejection_reason?: string
}

interface TwilioContent {
  sid?: string
  friendly_name?: string
  language?: string
  variables?: Record<string, unknown> | null
  types?: unknown
  approval_requests?: (TwilioApproval & { whatsapp?: TwilioApproval }) | null
}

/**
 * Every content template of the account, all pages. Throws `GW_ERR_PROVIDER_REFUSED` (Twilio said no) or
 * `GW_ERR_PROVIDER_UNREACHABLE`, with Twilio's words.
 */
export async function listTwilioTemplates(config: TwilioConfig, deps: ProviderDeps): Promise<ProviderTemplate[]> {
  const base = new URL((deps.urls.twilioContentUrl ?? DEFAULT_CONTENT_URL).replace(/\/+$/, ''))
  const baseText = base.href.replace(/\/+$/, '')
  let url: URL | null = new URL(`${baseText}/v1/ContentAndApprovals?PageSize=500`)
  const templates: ProviderTemplate[] = []
  for (let page = 0; url !== null && page < MAX_PAGES; page++) {
    const body = await fetchPage(url, config, deps)
    for (const item of Array.isArray(body.contents) ? body.contents : []) {
      const template = readContent(item)
      if (template !== null) templates.push(template)
    }
    url = nextPageUrl(body.meta?.next_page_url, base, baseText)
  }
  return templates
}

/** The credentials go with every page: a next page on another origin is re-based onto the configured URL. */
function nextPageUrl(next: unknown, base: URL, baseText: string): URL | null {
  if (typeof next !== 'string' || next === '') return null
  try {
    const parsed = new URL(next, base)
    return parsed.origin === base.origin ? parsed : new URL(`${baseText}${parsed.pathname}${parsed.search}`)
  } catch {
    return null
  }
}

async function fetchPage(url: URL, config: TwilioConfig, deps: ProviderDeps): Promise<ContentAndApprovalsPage> {
  const headers = { authorization: basicAuth(config), accept: 'application/json' }
  const { statusCode, text } = await callApi(url, { method: 'GET', headers }, deps, (error) =>
    GW_ERR_PROVIDER_UNREACHABLE(`Twilio's Content API at ${url.origin} could not be reached: ${describeNetworkError(error)}`, { cause: error }),
  )
  if (statusCode !== 200) {
    const reason = twilioReason(statusCode, text)
    throw lookupError(statusCode, classifyTwilioError(statusCode, text), {
      refused: `Twilio refused to list the content templates: ${reason}.`,
      failed: `Twilio could not list the content templates (${reason}); try again in a moment.`,
    })
  }
  try {
    const body: unknown = JSON.parse(text)
    if (typeof body === 'object' && body !== null) return body as ContentAndApprovalsPage
  } catch {
    // Falls through to the error below.
  }
  throw GW_ERR_PROVIDER_UNREACHABLE("Twilio's Content API answered the template list with a body that is not JSON.")
}

function readContent(item: TwilioContent): ProviderTemplate | null {
  if (typeof item !== 'object' || item === null || typeof item.sid !== 'string' || item.sid === '') return null
  // Newer answers nest the approval under `whatsapp`; older ones gave its fields directly.
  const requests = item.approval_requests ?? null
  const approval: TwilioApproval | null = requests === null ? null : (requests.whatsapp ?? (typeof requests.status === 'string' ? requests : null))
  const status = typeof approval?.status === 'string' && approval.status !== '' ? approval.status.toUpperCase() : UNSUBMITTED
  const variables = typeof item.variables === 'object' && item.variables !== null ? Object.keys(item.variables) : []
  const params = [...variables].sort((a, b) => Number(a) - Number(b) || a.localeCompare(b))
  return {
    name: item.sid,
    language: typeof item.language === 'string' && item.language !== '' ? item.language.trim().replace(/-/g, '_') : 'en',
    status,
    category: typeof approval?.category === 'string' && approval.category !== '' ? approval.category.toUpperCase() : null,
    parameterFormat: 'POSITIONAL',
    params,
    // The content's types (twilio/text, twilio/quick-reply…) with its friendly name, for display.
    components: { friendly_name: item.friendly_name ?? null, types: item.types ?? null, variables: item.variables ?? null },
    providerTemplateId: item.sid,
  }
}
