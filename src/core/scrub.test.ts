import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { cutWords, excerptOf, isMaskedUrlOf, looksMaskedUrl, maskUrl, scrubSecrets, urlSecrets } from './scrub.js'

describe('scrubSecrets', () => {
  it('masks every secret in every form it may be echoed in, the longer first', () => {
    const token = 'EAABsecret"token/with+odd&chars42'
    const text = `raw ${token} json ${JSON.stringify(token)} uri ${encodeURIComponent(token)}`
    const out = scrubSecrets(text, [token, 'EAABsecret'])
    assert.equal(out.includes('secret'), false, out)
    assert.match(out, /EAAB…42/)
  })

  it('leaves texts alone for values too short to be secrets, and for none', () => {
    assert.equal(scrubSecrets('the cat sat', ['cat', undefined, null, '']), 'the cat sat')
  })
})

describe('excerptOf and cutWords', () => {
  it('scrubs before cutting, so no part of a secret survives a cut through it', () => {
    const secret = 'S'.repeat(10) + 'tail-of-the-secret'
    const body = `${'x'.repeat(190)}${secret}${'y'.repeat(300)}`
    const excerpt = excerptOf(body, [secret])
    assert.equal(excerpt.includes('tail'), false)
    assert.equal(excerpt.includes('SSSSSSSSSS'), false, excerpt)
    assert.match(excerpt, /^"x{190}SSSS…ety+"…$/)
    // 200 characters between the quotes, then the ellipsis that says it was cut.
    assert.equal(/^"(.*)"…$/.exec(excerpt)?.[1]?.length, 200)
  })

  it('puts a body on one line, quotes short ones whole, and is empty for an empty body', () => {
    assert.equal(excerptOf('  a\n\tb  '), '"a b"')
    assert.equal(excerptOf(' \n '), '')
    assert.equal(cutWords('z'.repeat(201)), `${'z'.repeat(200)}…`)
    assert.equal(cutWords('short'), 'short')
  })

  it('never leaves half a surrogate pair at the cut', () => {
    const cut = cutWords(`${'a'.repeat(199)}😀😀`)
    assert.equal(cut, `${'a'.repeat(199)}…`)
  })
})

describe('URL credentials', () => {
  it('masks a password, keeping the user name and the rest of the URL', () => {
    assert.equal(maskUrl('https://bob:hunter2@bot.example.org:8443/hook?x=1'), 'https://bob:••••@bot.example.org:8443/hook?x=1')
    assert.equal(maskUrl('https://token123@bot.example.org/hook'), 'https://••••@bot.example.org/hook')
    assert.equal(maskUrl('https://bot.example.org/Hook'), 'https://bot.example.org/Hook')
    assert.equal(maskUrl('not a url'), 'not a url')
  })

  it('knows its own mask sent back, and a mask that is not of the stored URL', () => {
    const stored = 'https://bob:hunter2@bot.example.org/hook'
    assert.equal(isMaskedUrlOf(maskUrl(stored), stored), true)
    assert.equal(isMaskedUrlOf('https://bob:••••@other.example.org/hook', stored), false)
    assert.equal(isMaskedUrlOf('https://bot.example.org/hook', 'https://bot.example.org/hook'), false)
    assert.equal(looksMaskedUrl('https://bob:••••@other.example.org/hook'), true)
    assert.equal(looksMaskedUrl('https://••••@other.example.org/hook'), true)
    assert.equal(looksMaskedUrl(stored), false)
  })

  it('names the credential of a URL as written and decoded', () => {
    assert.deepEqual(urlSecrets('https://bob:p%40ss-word@host/'), [{ hidden: 'p%40ss-word' }, { hidden: 'p@ss-word' }])
    assert.deepEqual(urlSecrets('https://token123@host/'), [{ hidden: 'token123' }, { hidden: 'token123' }])
    assert.deepEqual(urlSecrets('https://host/'), [])
  })

  it('shows a URL password as the API does, nothing of it', () => {
    const text = 'echo https://bob:hunter22-pw@bot.example.org/ and hunter22-pw and the token EAABtoken-0123456789xy'
    assert.equal(
      scrubSecrets(text, [...urlSecrets('https://bob:hunter22-pw@bot.example.org/'), 'EAABtoken-0123456789xy']),
      'echo https://bob:••••@bot.example.org/ and •••• and the token EAAB…xy',
    )
  })
})
