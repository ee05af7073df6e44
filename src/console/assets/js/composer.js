// @ts-check
/**
 * The composer of Conversations: a person of the team answers as the business through
 * `POST /api/conversations/{id}/messages` (the message then shows as from an agent). A text; a file,
 * stored first with `POST /api/media` (its bytes with their own type) and then sent by its media id as
 * an image, video, audio or document; or an approved template. Once the 24-hour window is closed,
 * WhatsApp takes only templates: the composer then says so and offers the template first (and a text
 * only when the channel sends texts as its out-of-window template). The API's refusals (422, 409) show
 * on the form they answer, at the field they name.
 */
import { api, listAll } from './api.js'
import { announce, busy, clearFormErrors, field, h, replace, showFormError, timeEl } from './dom.js'
import { windowState } from './service-window.js'
import { loadTemplates, templatePicker } from './templates.js'

/**
 * @typedef {import('./api.js').ConversationDto} ConversationDto
 * @typedef {import('./api.js').ChannelDto} ChannelDto
 * @typedef {import('./api.js').ProviderDto} ProviderDto
 * @typedef {import('./api.js').TemplateDto} TemplateDto
 */

/**
 * The message type a file goes as: the types WhatsApp shows inline as themselves, anything else as a
 * document (which takes any file).
 * @param {string} mimeType
 * @returns {'image' | 'video' | 'audio' | 'document'}
 */
export function mediaTypeOf(mimeType) {
  const type = mimeType.split(';')[0]?.trim().toLowerCase() ?? ''
  if (type === 'image/jpeg' || type === 'image/png') return 'image'
  if (type === 'video/mp4' || type === 'video/3gpp') return 'video'
  if (type.startsWith('audio/')) return 'audio'
  return 'document'
}

/**
 * Shows an API refusal on `form`: at the field `toField` maps the API's field to, else in its alert.
 * @param {HTMLFormElement} form
 * @param {unknown} error
 * @param {(apiField: string) => string | undefined} toField
 */
function showRefusal(form, error, toField) {
  const apiError = /** @type {{ message: string, field?: string }} */ (error)
  const mapped = apiError.field ? toField(apiError.field) : undefined
  showFormError(form, { message: apiError.message, ...(mapped ? { field: mapped } : {}) })
}

/**
 * @param {{ conversation: ConversationDto, channel: ChannelDto, name: string, onSent: () => Promise<void> | void }} options
 */
export function agentComposer(options) {
  const { channel, name } = options
  let conversation = options.conversation
  /** @param {Record<string, unknown>} message */
  const send = (message) => api('POST', `/api/conversations/${encodeURIComponent(conversation.id)}/messages`, { message })
  /** After a send: the thread shows it at once, and screen readers hear that it went. */
  const sent = async (/** @type {string} */ words) => {
    announce(words)
    await options.onSent()
  }

  // A text.
  const textForm = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { novalidate: true, class: 'business-composer' },
      h('div', { class: 'composer' }, field({ label: `Write to ${name} as the business`, name: 'text', autocomplete: 'off', placeholder: 'Type a message' }), h('button', { type: 'submit' }, 'Send')),
      h('div', { class: 'form-alert' }),
    )
  )
  const textInput = /** @type {HTMLInputElement} */ (textForm.elements.namedItem('text'))
  textForm.addEventListener('submit', async (event) => {
    event.preventDefault()
    clearFormErrors(textForm)
    const text = textInput.value.trim()
    if (!text) return showFormError(textForm, { message: 'Type a message first.', field: 'text' })
    await busy(textForm.querySelector('button[type=submit]'), async () => {
      try {
        await send({ type: 'text', text })
        textInput.value = ''
        await sent('Queued')
      } catch (error) {
        // Most refusals (a closed window without a fallback template, an opt-out) are about the
        // conversation, not the words: they go to the form's alert, in the API's own sentence.
        showRefusal(textForm, error, (at) => (at === 'message.text' ? 'text' : undefined))
      }
    })
    textInput.focus()
  })

  // A file: stored, then sent by its media id.
  const fileForm = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { novalidate: true, class: 'fields' },
      field({ label: 'File', name: 'file', type: 'file', hint: 'A JPEG or PNG goes as a photo, an MP4 as a video, a sound file as audio, anything else as a document.' }),
      field({ label: 'Caption (optional)', name: 'caption', autocomplete: 'off' }),
      h('div', { class: 'form-alert' }),
      h('div', {}, h('button', { type: 'submit', class: 'secondary' }, 'Send file')),
    )
  )
  const fileInput = /** @type {HTMLInputElement} */ (fileForm.elements.namedItem('file'))
  fileForm.addEventListener('submit', async (event) => {
    event.preventDefault()
    clearFormErrors(fileForm)
    const file = fileInput.files?.[0]
    if (!file) return showFormError(fileForm, { message: 'Choose a file first.', field: 'file' })
    if (file.size === 0) return showFormError(fileForm, { message: 'The file is empty.', field: 'file' })
    const caption = /** @type {HTMLInputElement} */ (fileForm.elements.namedItem('caption')).value.trim()
    const type = mediaTypeOf(file.type)
    await busy(fileForm.querySelector('button[type=submit]'), async () => {
      /** @type {{ id: string }} */
      let media
      try {
        media = await api('POST', `/api/media?filename=${encodeURIComponent(file.name)}`, file)
      } catch (error) {
        // The gateway's limit (413) or a type it does not keep: about the file.
        return showFormError(fileForm, { message: `The file could not be stored: ${/** @type {Error} */ (error).message}`, field: 'file' })
      }
      try {
        await send({
          type,
          media_id: media.id,
          ...(caption && type !== 'audio' ? { caption } : {}),
          ...(type === 'document' ? { filename: file.name } : {}),
        })
        fileForm.reset()
        await sent(`${file.name} queued`)
      } catch (error) {
        showRefusal(fileForm, error, (at) => (at === 'message.caption' ? 'caption' : at.startsWith('message') && at !== 'message' ? 'file' : undefined))
      }
    })
  })
  const fileBox = /** @type {HTMLDetailsElement} */ (h('details', { class: 'composer-more', 'data-composer': 'file' }, h('summary', {}, 'Send a file'), fileForm))

  // A template: the provider's approved ones, read when first needed.
  const templateBody = h('div', {}, h('p', { class: 'meta' }, 'Loading the templates…'))
  const templateAlert = h('div', { class: 'form-alert' })
  const templateButton = h('button', { type: 'submit' }, 'Send template')
  const templateForm = /** @type {HTMLFormElement} */ (h('form', { novalidate: true, class: 'fields' }, templateBody, templateAlert, h('div', {}, templateButton)))
  /** @type {ReturnType<typeof templatePicker> | null} */
  let picker = null
  /** @type {Promise<void> | null} */
  let loading = null
  const loadPicker = () => {
    loading ??= (async () => {
      try {
        const provider = /** @type {ProviderDto | undefined} */ ((await listAll('/api/providers')).items.find((/** @type {ProviderDto} */ p) => p.id === channel.provider_id))
        // Turn.io keeps no template list the gateway could sync: its templates are typed and sent as given.
        const approved = provider?.type === 'turnio' ? null : (await loadTemplates(channel.provider_id)).filter((t) => t.status === 'APPROVED')
        if (approved !== null && approved.length === 0) {
          replace(
            templateBody,
            h('p', {}, `${provider?.name ?? 'This channel’s provider'} has no approved templates yet. See `, h('a', { href: `/console/templates?provider=${channel.provider_id}`, 'data-nav': true }, 'Templates'), ' to sync them.'),
          )
          templateButton.hidden = true
          return
        }
        picker = templatePicker(approved)
        replace(templateBody, picker.element)
      } catch (error) {
        loading = null
        replace(templateBody, h('div', { class: 'alert error' }, 'The templates could not be read: ', /** @type {Error} */ (error).message))
      }
    })()
    return loading
  }
  templateForm.addEventListener('submit', async (event) => {
    event.preventDefault()
    clearFormErrors(templateForm)
    if (!picker) return
    const chosen = picker.message()
    if ('error' in chosen) return showFormError(templateForm, { message: chosen.error, field: chosen.field })
    await busy(templateButton, async () => {
      try {
        await send(chosen.message)
        await sent(`Template ${String(chosen.message.name)} queued`)
      } catch (error) {
        showRefusal(templateForm, error, (at) => picker?.apiField(at))
      }
    })
  })
  // A parameter's error goes once the person types there again.
  templateForm.addEventListener('input', () => clearFormErrors(templateForm))
  const templateBox = /** @type {HTMLDetailsElement} */ (h('details', { class: 'composer-more', 'data-composer': 'template' }, h('summary', {}, 'Send a template'), templateForm))
  templateBox.addEventListener('toggle', () => {
    if (templateBox.open) void loadPicker()
  })

  const element = h('div', { class: 'agent-composer', 'data-composer-window': '' })
  let drawnState = ''
  /** Lays the composer out for the window's state (only when it changed: a person may be typing). */
  const draw = () => {
    const state = windowState(conversation)
    if (state === drawnState) return
    drawnState = state
    element.setAttribute('data-composer-window', state)
    if (state === 'open') {
      templateBox.open = false
      replace(element, textForm, h('div', { class: 'composer-extras' }, fileBox, templateBox))
      return
    }
    const fallback = channel.out_of_window_template
    const notice = h(
      'div',
      { class: 'alert warn', 'data-window-notice': state },
      state === 'closed' ? ['The 24-hour window closed ', timeEl(conversation.service_window_expires_at)] : `${name} has not written to this number yet`,
      ': WhatsApp delivers only approved templates until they write again. ',
      fallback ? `A text goes out as the template ${fallback.name}, with your words in it.` : 'Send a template:',
    )
    templateBox.open = true
    void loadPicker()
    // Without the channel's out-of-window template a text would only be refused: none is offered.
    replace(element, notice, templateBox, fallback ? textForm : null)
  }
  draw()

  return {
    element,
    /** The conversation as read again (its window may have closed, or opened with a new message). */
    update(/** @type {ConversationDto} */ next) {
      conversation = next
      draw()
    },
  }
}
