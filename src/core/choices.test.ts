import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { choicesOf, matchChoice, numberedText } from './choices.js'
import type { ButtonsOutbound, ListOutbound } from './outbound.js'

const buttons: ButtonsOutbound = {
  type: 'buttons',
  header: 'Appointment',
  text: 'Can you come on Monday?',
  footer: 'Clinic bot',
  buttons: [
    { id: 'yes', title: 'Yes' },
    { id: 'no', title: 'No' },
    { id: 'later', title: 'Later' },
  ],
}
const list: ListOutbound = {
  type: 'list',
  text: 'Pick a clinic',
  button: 'Clinics',
  sections: [
    { title: 'North', rows: [{ id: 'n1', title: 'Hillbrow', description: 'Open 8–17' }] },
    { title: 'South', rows: [{ id: 's1', title: 'Soweto' }] },
  ],
}

describe('numberedText', () => {
  it('writes buttons as numbered options with header and footer kept', () => {
    assert.equal(numberedText(buttons), 'Appointment\n\nCan you come on Monday?\n\n1. Yes\n2. No\n3. Later\n\nClinic bot')
  })
  it('numbers list rows across sections, with section titles and descriptions', () => {
    assert.equal(numberedText(list), 'Pick a clinic\n\nNorth\n1. Hillbrow (Open 8–17)\n\nSouth\n2. Soweto')
  })
})

describe('matchChoice', () => {
  it('maps a number or a title (any case and spacing) to the option, and nothing else', () => {
    const choices = choicesOf(buttons)
    assert.equal(matchChoice('2', choices)?.id, 'no')
    assert.equal(matchChoice(' 3. ', choices)?.id, 'later')
    assert.equal(matchChoice('  yES ', choices)?.id, 'yes')
    assert.equal(matchChoice('4', choices), null)
    assert.equal(matchChoice('0', choices), null)
    assert.equal(matchChoice('yes please', choices), null)
    assert.equal(matchChoice('soweto', choicesOf(list))?.id, 's1')
    assert.equal(matchChoice('1', choicesOf(list))?.id, 'n1')
  })
})
