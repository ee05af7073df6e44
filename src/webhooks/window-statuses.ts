/**
 * Failed statuses that mean "outside the 24-hour window" (a provider's own code, declared in its
 * capabilities: Meta `131047`, Twilio `63016`) become the gateway's `outside_service_window`, naming the
 * provider's code, and close the conversation's window (`StatusUpdate.closesWindow`): Meta usually says
 * so in a `failed` status after accepting the send, not in the send's answer.
 */
import type { RoutedEvents } from '../core/message.js'
import type { ProviderCapabilities } from '../providers/index.js'

/** Rewrites, in place, the failed statuses of `routes` whose code is one of `capabilities.outsideWindowCodes`. */
export function markWindowClosures(routes: ReadonlyArray<{ events: RoutedEvents }>, capabilities: ProviderCapabilities | undefined): void {
  if (capabilities === undefined || capabilities.outsideWindowCodes.length === 0) return
  for (const { events } of routes) {
    for (const status of events.statuses) {
      const code = status.error?.code
      if (status.status !== 'failed' || code === undefined || !capabilities.outsideWindowCodes.includes(code)) continue
      const said = status.error!.message
      status.error = { code: 'outside_service_window', message: said.includes(code) ? said : `${said} (provider code ${code})` }
      status.closesWindow = true
    }
  }
}
