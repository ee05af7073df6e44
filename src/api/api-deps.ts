/** What the admin API receives from the composition root. */
import type { Dispatcher } from 'undici'
import type { Clock } from '../core/clock.js'
import type { SecretBox } from '../core/secret-box.js'
import type { Logger } from '../logger.js'
import type { Store } from '../store/db.js'
import type { ProviderDeps } from '../providers/provider.js'
import type { EnqueueSpec } from '../queue/job.js'

export interface ApiDeps {
  store: Store
  secretBox: SecretBox
  clock: Clock
  logger: Logger
  /** The configured public base URL, or undefined to derive it from each request. */
  publicUrl: string | undefined
  /** For calls to providers (channel creation looks numbers up). */
  providerDeps: ProviderDeps
  /** The client for URLs a team gives (a bot's test call): refuses private addresses unless allowed. */
  teamDispatcher: Dispatcher
  /** SWITCHBOARD_ALLOW_PRIVATE_URLS: whether a team may give loopback or private addresses. */
  allowPrivateUrls: boolean
  /** Failed authentications per address before 429 (default 20 a minute); tests lower them. */
  authLimits?: { maxFailures?: number; windowMs?: number }
}

export type { EnqueueSpec }
