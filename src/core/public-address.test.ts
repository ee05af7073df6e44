import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { publicAddressProblem } from './public-address.js'

describe('publicAddressProblem', () => {
  it('accepts an https address on the internet', () => {
    for (const url of ['https://sb.example.com', 'https://sb.example.com:8443/base', 'https://203.0.113.7', 'https://[2001:db8::1]/x']) {
      assert.equal(publicAddressProblem(url), null, url)
    }
  })

  it('names http on a public host not_https', () => {
    assert.equal(publicAddressProblem('http://sb.example.com'), 'not_https')
    assert.equal(publicAddressProblem('http://203.0.113.7:8080'), 'not_https')
  })

  it('names loopback, private, link-local, carrier NAT and local names not_public, over http or https', () => {
    const local = [
      'http://127.0.0.1:8080', 'https://127.5.0.1', 'http://localhost:8080', 'https://api.localhost', 'http://0.0.0.0:8080',
      'https://10.0.0.5', 'https://172.16.0.1', 'https://172.31.255.255', 'https://192.168.1.10', 'https://169.254.169.254',
      'https://100.64.0.1', 'https://[::1]:8080', 'https://[fd12:3456::1]', 'https://[fe80::1]', 'https://[::ffff:127.0.0.1]',
      'https://[::ffff:10.0.0.1]', 'https://gateway', 'https://sb.local', 'https://sb.internal', 'https://router.home.arpa', 'not a url',
    ]
    for (const url of local) assert.equal(publicAddressProblem(url), 'not_public', url)
    // Neighbours of the private ranges are public.
    for (const url of ['https://172.32.0.1', 'https://172.15.0.1', 'https://100.128.0.1', 'https://[::ffff:8.8.8.8]']) {
      assert.equal(publicAddressProblem(url), null, url)
    }
  })
})
