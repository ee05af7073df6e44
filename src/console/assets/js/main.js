// @ts-check
/**
 * The console's shell: sign-in, navigation between pages (real paths under /console, history API), and
 * the hand-over of a token in the URL fragment (`#token=…&sandbox=…`, which `npm run sandbox` prints;
 * fragments never reach a server, and the fragment is removed from the address bar at once).
 */
import { api, session, setUnauthenticatedHandler } from './api.js'
import { field, h, replace, showFormError, busy } from './dom.js'
import { renderProviders } from './pages/providers.js'
import { renderChannels } from './pages/channels.js'
import { renderConversations } from './pages/conversations.js'
import { renderBots } from './pages/bots.js'
import { renderFailed } from './pages/failed.js'
import { renderSandbox } from './pages/sandbox.js'
import { renderTemplates } from './pages/templates.js'
import { renderBroadcasts } from './pages/broadcasts.js'
import { renderWebhooks } from './pages/webhooks.js'
import { renderTokens } from './pages/tokens.js'
import { FAILED_COUNT_POLL_MS, refreshFailedCount } from './nav-count.js'

const BASE = '/console'

/**
 * @typedef {{ main: HTMLElement, params: URLSearchParams, navigate: (path: string) => void }} PageContext
 * @typedef {(context: PageContext) => (void | (() => void) | Promise<void | (() => void)>)} Page
 */

/** @type {Record<string, { title: string, render: Page }>} */
const PAGES = {
  providers: { title: 'Providers', render: renderProviders },
  templates: { title: 'Templates', render: renderTemplates },
  channels: { title: 'Channels', render: renderChannels },
  conversations: { title: 'Conversations', render: renderConversations },
  broadcasts: { title: 'Broadcasts', render: renderBroadcasts },
  bots: { title: 'Bots', render: renderBots },
  webhooks: { title: 'Event webhooks', render: renderWebhooks },
  tokens: { title: 'API tokens', render: renderTokens },
  failed: { title: 'Failed work', render: renderFailed },
  sandbox: { title: 'Sandbox chat', render: renderSandbox },
}

const main = /** @type {HTMLElement} */ (document.getElementById('main'))
/** @type {(() => void) | null} */
let cleanup = null
let renderCount = 0

/** Takes a token (and the sandbox address) from the URL fragment into this tab's session. */
function adoptFragment() {
  if (!location.hash.includes('token=')) return
  const params = new URLSearchParams(location.hash.slice(1))
  const token = params.get('token')
  const sandbox = params.get('sandbox')
  if (token) session.token = token
  if (sandbox && /^http:\/\/(127\.0\.0\.1|localhost):\d+$/.test(sandbox)) session.sandboxUrl = sandbox
  history.replaceState(null, '', location.pathname + location.search)
}

/** @param {string} path  a path under /console, e.g. "/console/channels?x=1" */
function navigate(path) {
  history.pushState(null, '', path)
  void render()
}

function currentPage() {
  const rest = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : ''
  const name = rest.replace(/^\/+/, '').split('/')[0] ?? ''
  if (name === '') return session.sandboxUrl ? 'sandbox' : 'providers'
  return name
}

function updateChrome(/** @type {string} */ name) {
  const signedIn = Boolean(session.token)
  const nav = /** @type {HTMLElement} */ (document.getElementById('nav'))
  nav.hidden = !signedIn
  const signOut = /** @type {HTMLElement} */ (document.getElementById('sign-out'))
  signOut.hidden = !signedIn
  const sandboxLink = /** @type {HTMLElement} */ (document.getElementById('nav-sandbox'))
  sandboxLink.hidden = !session.sandboxUrl
  for (const link of nav.querySelectorAll('a')) {
    if (link.getAttribute('href') === `${BASE}/${name}`) link.setAttribute('aria-current', 'page')
    else link.removeAttribute('aria-current')
  }
}

async function render() {
  cleanup?.()
  cleanup = null
  const thisRender = ++renderCount
  const name = currentPage()
  updateChrome(name)
  if (!session.token) {
    document.title = 'Sign in · Switchboard'
    renderSignIn()
    return
  }
  const page = PAGES[name]
  if (!page) {
    document.title = 'Not found · Switchboard'
    replace(main, h('h1', {}, 'Nothing here'), h('p', {}, 'This console page does not exist. ', h('a', { href: `${BASE}/providers`, 'data-nav': true }, 'Go to providers')))
    return
  }
  document.title = `${page.title} · Switchboard`
  void refreshFailedCount()
  main.replaceChildren(h('p', { class: 'meta' }, 'Loading…'))
  try {
    const result = await page.render({ main, params: new URLSearchParams(location.search), navigate })
    if (thisRender !== renderCount) {
      if (typeof result === 'function') result()
      return
    }
    if (typeof result === 'function') cleanup = result
  } catch (error) {
    if (thisRender !== renderCount) return
    replace(main, h('h1', {}, page.title), h('div', { class: 'alert error', role: 'alert' }, /** @type {Error} */ (error).message))
  }
  // After a navigation, focus moves to the new page's heading, so keyboard and screen reader users
  // start there rather than on a link that no longer exists.
  if (thisRender === renderCount && focusAfterRender) {
    focusAfterRender = false
    const heading = /** @type {HTMLElement | null} */ (main.querySelector('h1'))
    heading?.setAttribute('tabindex', '-1')
    heading?.focus()
  }
}

let focusAfterRender = false

function renderSignIn() {
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { class: 'stack card', novalidate: true },
      field({
        label: 'API token',
        name: 'token',
        type: 'password',
        required: true,
        autocomplete: 'current-password',
        hint: 'The admin token the gateway printed on its first start, or a token an admin created for you. It is kept in this browser tab only.',
      }),
      h('div', { class: 'form-alert' }),
      h('div', {}, h('button', { type: 'submit' }, 'Sign in')),
    )
  )
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const input = /** @type {HTMLInputElement} */ (form.elements.namedItem('token'))
    const token = input.value.trim()
    if (!token) {
      showFormError(form, { message: 'Paste your API token here.', field: 'token' })
      return
    }
    await busy(form.querySelector('button'), async () => {
      try {
        // Any authenticated read proves the token; providers are the first page anyway.
        await api('GET', '/api/providers?limit=1', undefined, { token })
        session.token = token
        focusAfterRender = true
        await render()
      } catch (error) {
        const apiError = /** @type {{ status?: number, message: string }} */ (error)
        const message = apiError.status === 401 ? 'The gateway does not know this token, or it was revoked. Check it and try again.' : apiError.message
        showFormError(form, { message, field: 'token' })
      }
    })
  })
  replace(
    main,
    h('h1', {}, 'Sign in'),
    h('p', { class: 'lead' }, 'Sign in with an API token to manage providers, bots and channels and to watch conversations.'),
    form,
  )
  const tokenInput = /** @type {HTMLInputElement} */ (form.elements.namedItem('token'))
  tokenInput.focus()
}

document.addEventListener('click', (event) => {
  const target = /** @type {Element} */ (event.target)
  const link = target.closest('a[data-nav]')
  if (!link || !(link instanceof HTMLAnchorElement)) return
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return
  event.preventDefault()
  focusAfterRender = true
  navigate(link.pathname + link.search)
})

window.addEventListener('popstate', () => void render())

// The skip link moves focus to the page without touching the URL (a #main in the address bar would
// count as a navigation and redraw the page).
document.querySelector('.skip-link')?.addEventListener('click', (event) => {
  event.preventDefault()
  main.focus()
})

document.getElementById('sign-out')?.addEventListener('click', () => {
  session.token = null
  session.sandboxUrl = null
  history.pushState(null, '', `${BASE}/`)
  void render()
})

setUnauthenticatedHandler(() => {
  session.token = null
  void render()
})

// The count of failed work beside its link, read again on every page (above) and on a timer.
setInterval(() => {
  if (session.token && document.visibilityState === 'visible') void refreshFailedCount()
}, FAILED_COUNT_POLL_MS)

adoptFragment()
void render()
