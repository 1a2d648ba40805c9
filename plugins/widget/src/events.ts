/** Splits a piece of the data plane's SSE (one or more whole events) into each event's lines, `id:` lines dropped. */
export function eventsOf(piece: string): string[] {
  const events: string[] = []
  for (const raw of piece.split(/\r\n\r\n|\n\n|\r\r/)) {
    const lines = raw.split(/\r\n|\r|\n/).filter(line => line !== '' && !line.startsWith('id:'))
    if (lines.length > 0) events.push(lines.join('\n'))
  }
  return events
}

/** One event as the widget's client reads it: `id: <answer id>:<n>`, then the event's own lines. */
export function frame(answerId: string, n: number, event: string): string {
  return `id: ${answerId}:${n}\n${event}\n\n`
}

/** `Last-Event-ID: <answer id>:<n>` → n, when it names this answer. */
export function resumeFrom(answerId: string, lastEventId: string | undefined): number {
  if (lastEventId === undefined) return 0
  const match = /^(.+):(\d{1,9})$/.exec(lastEventId.trim())
  return match && match[1] === answerId ? Number(match[2]) : 0
}
