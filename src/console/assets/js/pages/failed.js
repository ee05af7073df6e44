// @ts-check
/**
 * Failed work: jobs the gateway gave up on (a bot that kept failing, a send that kept being refused or
 * timing out), newest first, with the reason and a Retry button.
 */
import { api, listAll } from '../api.js'
import { announce, busy, h, replace, timeEl } from '../dom.js'
import { refreshFailedCount } from '../nav-count.js'

/**
 * @typedef {import('../api.js').DeadJobDto} DeadJobDto
 * @typedef {import('../api.js').ChannelDto} ChannelDto
 */

const TASK_WORDS = /** @type {Record<string, { what: string, retry: string }>} */ ({
  'inbound.handle': { what: 'Handing a message to the bot', retry: 'hands the message to the bot again' },
  'outbound.send': { what: 'Sending a reply', retry: 'sends the reply again' },
  'event.deliver': { what: 'Delivering an event', retry: 'delivers the event to its webhook again' },
})

/**
 * @param {DeadJobDto} job
 * @param {Map<string, ChannelDto>} channels
 * @param {(text: string) => Promise<void>} onRetried
 */
function jobCard(job, channels, onRetried) {
  const words = TASK_WORDS[job.task] ?? { what: `Task ${job.task}`, retry: 'runs the job again' }
  const message = job.message
  const channel = message ? channels.get(message.channel_id) : undefined
  const alertBox = h('div')
  const retry = h('button', { type: 'button', 'aria-describedby': `why-${job.id}` }, 'Retry')
  retry.addEventListener('click', () =>
    busy(retry, async () => {
      try {
        await api('POST', `/api/jobs/${job.id}/retry`)
        await onRetried(`Retried: the gateway ${words.retry}.`)
      } catch (error) {
        replace(alertBox, h('div', { class: 'alert error', role: 'alert' }, /** @type {Error} */ (error).message))
      }
    }),
  )
  return h(
    'li',
    { class: 'card', 'data-job': job.id },
    h('div', { class: 'card-head' }, h('h3', {}, words.what), h('span', { class: 'badge bad' }, 'Gave up')),
    message
      ? h(
          'p',
          {},
          message.direction === 'in' ? 'Message ' : 'Reply ',
          h('q', {}, message.text ?? '(no text)'),
          channel ? ` on ${channel.name} (${channel.number})` : '',
          '. ',
          h('a', { href: `/console/conversations?channel=${message.channel_id}&conversation=${message.conversation_id}`, 'data-nav': true }, 'Open the conversation'),
        )
      : job.event
        ? h(
            'p',
            {},
            'Event ',
            h('code', {}, job.event.type),
            ' (',
            h('code', {}, job.event.id),
            ') to ',
            h('a', { href: '/console/webhooks', 'data-nav': true }, `event webhook ${job.event.webhook_id}`),
            '.',
          )
        : h('p', { class: 'meta' }, 'The message this job was about no longer exists.'),
    h('p', { id: `why-${job.id}` }, h('strong', {}, 'Reason: '), job.last_error ?? message?.error?.message ?? 'unknown'),
    h('p', { class: 'meta' }, `Tried ${job.attempts} of ${job.max_attempts} times; gave up `, timeEl(job.died_at), '.'),
    h('div', { class: 'row' }, retry),
    alertBox,
  )
}

/** @param {import('../main.js').PageContext} context */
export async function renderFailed({ main }) {
  const channels = new Map((await listAll('/api/channels')).items.map((/** @type {ChannelDto} */ c) => [c.id, c]))
  const listBox = h('ul', { class: 'list', 'aria-label': 'Dead jobs' })
  const notice = h('div', { role: 'status' })
  const load = async () => {
    const { items } = await listAll('/api/jobs/dead')
    // The navigation's count follows what this page shows.
    void refreshFailedCount()
    if (items.length === 0) {
      replace(listBox, h('li', { class: 'empty' }, 'Nothing has failed for good. Work that fails is retried with backoff first; it shows here only when the gateway gives up.'))
      return
    }
    replace(
      listBox,
      items.map((/** @type {DeadJobDto} */ job) =>
        jobCard(job, channels, async (text) => {
          replace(notice, h('div', { class: 'alert ok' }, text))
          announce(text)
          await load()
        }),
      ),
    )
  }
  await load()
  const refresh = h('button', { type: 'button', class: 'secondary small' }, 'Refresh')
  refresh.addEventListener('click', () => busy(refresh, load))
  replace(
    main,
    h('div', { class: 'card-head' }, h('h1', {}, 'Failed work'), refresh),
    h(
      'p',
      { class: 'lead' },
      'Jobs the gateway gave up on after its retries. Retry queues the work again; the failed message stays in its conversation with its reason. ',
      'Replies a provider refused outright (for example Meta 131026, undeliverable) are not retried automatically: they show in their conversation with the provider’s code, and a Send again button.',
    ),
    notice,
    listBox,
  )
}
