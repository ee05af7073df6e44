/**
 * Pre-signed Meta webhook bodies for wrk. wrk's LuaJIT has no crypto, so the bodies are made and signed
 * here, one per line (`sha256=<hex> <body>`), and `wrk/signed-bodies.lua` streams them in order. Every
 * body carries its own wamid, so the gateway never sees a duplicate within a run; a pool grows on demand
 * so a gateway run never wraps around (the Lua script reports it if one ever did).
 *
 * Bodies look like Meta's: the `meta_inbound_text.json` shape, texts of 1–2 KB bodies for single messages,
 * non-ASCII written in Meta's escaped-unicode form (the HMAC covers those exact bytes), many users over
 * all bench numbers. Each text starts with a unique tag `[n]` that the echo bot sends back, so the fake
 * Graph API can count replies by tag (lost and duplicated ones). Photos (`meta_inbound_image_caption.json`
 * shape) carry the tag in their caption, which the echo bot sends back as text, and the media id
 * `bench-<tag>` that the bench's fake Graph API serves (lib/photos.mjs), with its digest in base64 as Meta
 * writes it.
 */
import { createHmac } from 'node:crypto'
import { closeSync, openSync, writeSync } from 'node:fs'
import { BENCH_WABA } from './numbers.mjs'

const WORDS = (
  'olá bom dia obrigado quero saber o estado da minha encomenda número por favor preciso de ajuda com a ' +
  'fatura do mês passado não recebi nada ainda podem verificar café já paguei mas o sistema diz pendente ' +
  'hello I would like to change my delivery address to the new one can you confirm the order total ' +
  'sawubona ngicela usizo ngoku-oda kwami 👍 gracias por la respuesta rápida 🙏 merci beaucoup à bientôt'
).split(' ')
const NAMES = ['Thandi Nkosi', 'João Silva', 'Maria González', 'Pieter van der Merwe', 'Aisha Bello', 'Li Wei', 'Sipho Dlamini', 'Chloé Martin']

/** Meta writes every non-ASCII character of a webhook as `\uXXXX` (UTF-16 units, so emoji become pairs). */
function metaEscape(text) {
  return text.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** A small deterministic hash, so users, numbers and texts are spread without a random source. */
function mix(n) {
  let x = (n ^ 0x5bd1e995) >>> 0
  x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) >>> 0
  x = Math.imul(x ^ (x >>> 12), 0x297a2d39) >>> 0
  return (x ^ (x >>> 15)) >>> 0
}

// One long text, already in Meta's escaped form, that message texts are cut from at word boundaries
// (making each text word by word and escaping it would make generation slower than the gateway).
const CORPUS_WORDS = Array.from({ length: 20_000 }, (_, i) => metaEscape(WORDS[mix(i * 131 + 7) % WORDS.length]))
const CORPUS = CORPUS_WORDS.join(' ')
const WORD_STARTS = []
for (let i = 0, at = 0; i < CORPUS_WORDS.length; i++) {
  WORD_STARTS.push(at)
  at += CORPUS_WORDS[i].length + 1
}

/** `[tag]` and a cut of the corpus of about minChars–maxChars escaped characters (JSON-safe as is). */
function textOf(tag, minChars, maxChars) {
  const target = minChars + (mix(tag * 7 + 3) % (maxChars - minChars + 1))
  const first = mix(tag + 11) % (WORD_STARTS.length - 2000)
  const from = WORD_STARTS[first]
  let last = first
  while (WORD_STARTS[last] - from < target) last++
  return `[${tag}] ${CORPUS.slice(from, WORD_STARTS[last] - 1)}`
}

function wamidOf(runTag, tag) {
  // Real wamids are base64 of a protobuf; ~60 characters.
  return 'wamid.' + Buffer.from(`HBgL${runTag}:${tag}:${mix(tag).toString(16)}:bench-padding`).toString('base64')
}

const ESCAPED_NAMES = NAMES.map(metaEscape)

/**
 * The user who sent message `tag`. A user writes to one business number (user u to number u mod the
 * count), so `users` users make `users` conversations, as on a real gateway. `numberIndex` picks a user
 * of that number (a batch's change carries one number).
 */
function userOf(o, tag, numberIndex) {
  const n = o.numbers.length
  const u = numberIndex === undefined ? mix(tag * 31 + 17) % o.users : (mix(tag * 31 + 17) % Math.max(1, Math.floor(o.users / n))) * n + numberIndex
  return { index: u, waId: String(27810000000 + u), name: ESCAPED_NAMES[u % NAMES.length] }
}

function contactJson(user) {
  return `{"profile":{"name":"${user.name}"},"wa_id":"${user.waId}"}`
}

function messageJson(o, tag, user, timestamp, minChars, maxChars) {
  return `{"from":"${user.waId}","id":"${wamidOf(o.runTag, tag)}","timestamp":"${timestamp}","text":{"body":"${textOf(tag, minChars, maxChars)}"},"type":"text"}`
}

function changeJson(number, contacts, messages) {
  return `{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"${number.digits}","phone_number_id":"${number.pnid}"},"contacts":[${contacts.join(',')}],"messages":[${messages.join(',')}]},"field":"messages"}`
}

function envelope(changes) {
  return `{"object":"whatsapp_business_account","entry":[{"id":"${BENCH_WABA}","changes":[${changes.join(',')}]}]}`
}

/** One inbound photo with a caption `[tag] …` of 20–160 characters and the media id `bench-<tag>`. */
export function photoBody(o, tag, timestamp) {
  const user = userOf(o, tag)
  const number = o.numbers[user.index % o.numbers.length]
  const id = o.photos.idOf(tag)
  const sha256 = o.photos.digestOf(tag).toString('base64')
  // Meta's webhook also names a lookaside URL; the gateway asks Graph for a fresh one by the id instead.
  const url = `https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=${id}&source=webhook&ext=${Number(timestamp) + 300}&hash=ARmX2q9VtKc7LpZ0bWn4sYhE1dJ`
  const image = `{"caption":"${textOf(tag, 20, 160)}","mime_type":"image/jpeg","sha256":"${sha256}","id":"${id}","url":"${url.replace(/\//g, '\\/')}"}`
  const message = `{"from":"${user.waId}","id":"${wamidOf(o.runTag, tag)}","timestamp":"${timestamp}","type":"image","image":${image}}`
  return envelope([changeJson(number, [contactJson(user)], [message])])
}

/** One inbound text message (bodies of 1–2 KB), routed to one of the numbers. */
export function singleBody(o, tag, timestamp) {
  const user = userOf(o, tag)
  const number = o.numbers[user.index % o.numbers.length]
  return envelope([changeJson(number, [contactJson(user)], [messageJson(o, tag, user, timestamp, 560, 1300)])])
}

/** 100 messages in one POST, as Meta batches them under load: 10 changes (numbers) of 10 messages each. */
export function batchBody(o, line, timestamp) {
  const changes = []
  for (let c = 0; c < 10; c++) {
    const numberIndex = mix(line * 10 + c) % o.numbers.length
    const number = o.numbers[numberIndex]
    const contacts = []
    const messages = []
    for (let m = 0; m < 10; m++) {
      const tag = line * 100 + c * 10 + m
      const user = userOf(o, tag, numberIndex)
      contacts.push(contactJson(user))
      messages.push(messageJson(o, tag, user, timestamp, 20, 400))
    }
    changes.push(changeJson(number, contacts, messages))
  }
  return envelope(changes)
}

/** A file of signed bodies that grows on demand; `cursor` is where the next gateway run starts. */
export class BodyPool {
  /**
   * `tagBase` is the tag of the first body (single and photo bodies): pools whose replies reach the same
   * fake Graph API between two resets need tags that do not overlap. `photos` (lib/photos.mjs) is needed
   * by the `photo` kind.
   * @param {{ file: string, kind: 'single' | 'batch' | 'photo', appSecret: string, runTag: string, numbers: Array<{pnid: string, digits: string}>, users: number, tagBase?: number, photos?: object }} o
   */
  constructor(o) {
    this.o = { tagBase: 0, ...o }
    if (o.kind === 'photo' && !o.photos) throw new Error('a photo pool needs `photos`')
    this.lines = 0
    this.bytes = 0
    this.cursor = { line: 0, byte: 0 }
    this.bodyBytes = 0
    closeSync(openSync(o.file, 'w'))
  }

  /** Body `line` of this pool's kind (a batch line holds 100 messages; other lines one, tag `tagBase + line`). */
  bodyOf(line, timestamp) {
    if (this.o.kind === 'batch') return batchBody(this.o, line, timestamp)
    const tag = this.o.tagBase + line
    return this.o.kind === 'photo' ? photoBody(this.o, tag, timestamp) : singleBody(this.o, tag, timestamp)
  }

  /**
   * One signed body outside the file, for a request the runner sends itself: `line` must be one the file
   * never reaches (the caller picks it far beyond, so its tag stays unique). Returns tag, body, signature.
   */
  signedBody(line) {
    const body = this.bodyOf(line, String(Math.floor(Date.now() / 1000)))
    return { tag: this.o.tagBase + line, body, signature: `sha256=${createHmac('sha256', this.o.appSecret).update(body).digest('hex')}` }
  }

  /** Appends `count` bodies. */
  grow(count) {
    const fd = openSync(this.o.file, 'a')
    const timestamp = String(Math.floor(Date.now() / 1000))
    try {
      let chunk = []
      for (let i = 0; i < count; i++) {
        const body = this.bodyOf(this.lines + i, timestamp)
        const signature = createHmac('sha256', this.o.appSecret).update(body).digest('hex')
        chunk.push(`sha256=${signature} ${body}\n`)
        this.bodyBytes += Buffer.byteLength(body)
        if (chunk.length === 2000 || i === count - 1) {
          const text = chunk.join('')
          this.bytes += writeSync(fd, text)
          chunk = []
        }
      }
      this.lines += count
    } finally {
      closeSync(fd)
    }
  }

  /** Makes sure at least `count` unused bodies follow the cursor. */
  ensure(count) {
    const missing = this.cursor.line + count - this.lines
    if (missing > 0) this.grow(Math.ceil(missing))
  }

  /** Moves the cursor past what a run read (the Lua script reports lines and the byte position). */
  advance(lines, bytePos) {
    this.cursor = { line: this.cursor.line + lines, byte: bytePos }
  }

  get meanBodyBytes() {
    return this.lines === 0 ? 0 : Math.round(this.bodyBytes / this.lines)
  }
}
