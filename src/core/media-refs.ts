/**
 * The gateway media a stored message names: an inbound message's fetched media (`media.id`), an outbound
 * message's `media_id`, or a template's header `media_id`. Erasure reads it to know which media go with
 * the messages erased and which are still named by others (store/repos/erasure.ts).
 */

/** Whether `value` looks like a gateway media id (`med_…`, as core/outbound.ts accepts them). */
function isMediaId(value: unknown): value is string {
  return typeof value === 'string' && /^med_[A-Za-z0-9_-]{1,64}$/.test(value)
}

/** The media ids a message's payload (or a broadcast's message) names, without duplicates. */
export function mediaIdsNamedBy(payload: unknown): string[] {
  if (payload === null || typeof payload !== 'object') return []
  const shape = payload as { media?: { id?: unknown }; media_id?: unknown; header?: { media_id?: unknown } }
  const named = [shape.media?.id, shape.media_id, shape.header?.media_id].filter(isMediaId)
  return [...new Set(named)]
}
