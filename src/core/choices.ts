/**
 * Choices written as numbered text, for providers that cannot carry reply buttons or lists natively
 * (a declared capability, `ProviderCapabilities.choices`). Both directions live here so they agree on the
 * numbering: `numberedText` renders the message, `matchChoice` maps the participant's typed answer (`2`,
 * or an option's title, case-insensitive) back to the option, so a bot sees the same `reply` whatever
 * the provider.
 */
import type { ButtonsOutbound, ListOutbound } from './outbound.js'

/** One option of a buttons or list message, in the order it is numbered. */
export interface Choice {
  id: string
  title: string
  description?: string | undefined
}

/** The options of a buttons or list message, numbered from 1 in this order. */
export function choicesOf(message: ButtonsOutbound | ListOutbound): Choice[] {
  if (message.type === 'buttons') return message.buttons.map(({ id, title }) => ({ id, title }))
  return message.sections.flatMap((section) => section.rows.map(({ id, title, description }) => ({ id, title, description })))
}

/**
 * The message as one text: header, body, the numbered options (`1. Yes`), footer; a list keeps its
 * section titles and row descriptions.
 */
export function numberedText(message: ButtonsOutbound | ListOutbound): string {
  const blocks: string[] = []
  if (message.header !== undefined) blocks.push(message.header)
  blocks.push(message.text)
  if (message.type === 'buttons') {
    blocks.push(message.buttons.map((button, index) => `${index + 1}. ${button.title}`).join('\n'))
  } else {
    let number = 0
    for (const section of message.sections) {
      const lines = section.title === undefined ? [] : [section.title]
      for (const row of section.rows) {
        number++
        lines.push(row.description === undefined ? `${number}. ${row.title}` : `${number}. ${row.title} (${row.description})`)
      }
      blocks.push(lines.join('\n'))
    }
  }
  if (message.footer !== undefined) blocks.push(message.footer)
  return blocks.join('\n\n')
}

/**
 * The option a typed answer names: its number (`2`, `2.`, ` 2 `) or its title, case- and
 * space-insensitive; null when it names none (the answer is then ordinary text).
 */
export function matchChoice(answer: string, choices: readonly Choice[]): Choice | null {
  const typed = answer.trim().replace(/\.$/, '').trim()
  if (/^\d{1,2}$/.test(typed)) return choices[Number(typed) - 1] ?? null
  const folded = fold(typed)
  if (folded === '') return null
  return choices.find((choice) => fold(choice.title) === folded) ?? null
}

function fold(text: string): string {
  return text.normalize('NFKC').toLocaleLowerCase().replace(/\s+/g, ' ').trim()
}
