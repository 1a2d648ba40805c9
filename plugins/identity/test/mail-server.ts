import { SMTPServer } from 'smtp-server'
import { freePort, until } from '@parley/core/testing'

/** One mail as the SMTP server received it, with its text decoded. */
export interface CapturedMail {
  readonly from: string
  readonly to: readonly string[]
  readonly subject: string
  readonly text: string
  readonly raw: string
}

export interface MailServer {
  /** What identity's `mail.smtp_url` option points at. */
  readonly url: string
  readonly mails: readonly CapturedMail[]
  /** The next mail to `to` not yet returned; fails after a few seconds. */
  next(to: string): Promise<CapturedMail>
  close(): Promise<void>
}

/**
 * A real SMTP server (the `smtp-server` package) on 127.0.0.1 that keeps every mail: the
 * gateway's nodemailer transport talks SMTP to it exactly as to a provider's server.
 */
export async function startMailServer(): Promise<MailServer> {
  const mails: CapturedMail[] = []
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, done) {
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8')
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map(rcpt => rcpt.address),
          subject: decodeHeader(/^Subject: (.*(?:\r\n[ \t].*)*)/m.exec(raw)?.[1] ?? ''),
          text: decodeBody(raw),
          raw,
        })
        done()
      })
    },
  })
  const port = await freePort()
  await new Promise<void>(resolve => server.listen(port, '127.0.0.1', resolve))
  const taken = new Set<CapturedMail>()
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    async next(to) {
      const find = () => mails.find(mail => !taken.has(mail) && mail.to.includes(to))
      await until(async () => find() !== undefined, `a mail to ${to}`)
      const mail = find() as CapturedMail
      taken.add(mail)
      return mail
    },
    close: () => new Promise<void>(resolve => server.close(() => resolve())),
  }
}

/** `=?UTF-8?B?...?=` and `=?UTF-8?Q?...?=` words, as nodemailer writes a non-ASCII subject. */
function decodeHeader(value: string): string {
  return value
    .replace(/\r\n[ \t]/g, ' ')
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?UTF-8\?([BQ])\?([^?]*)\?=/gi, (_whole, kind: string, text: string) =>
      kind.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64').toString('utf8')
        : quotedPrintable(text.replace(/_/g, ' ')),
    )
}

/** The body after the headers, undone from quoted-printable or base64 as its header says. */
function decodeBody(raw: string): string {
  const split = raw.indexOf('\r\n\r\n')
  const headers = raw.slice(0, split)
  const body = raw.slice(split + 4)
  if (/^Content-Transfer-Encoding: quoted-printable/im.test(headers)) return quotedPrintable(body)
  if (/^Content-Transfer-Encoding: base64/im.test(headers)) return Buffer.from(body, 'base64').toString('utf8')
  return body
}

function quotedPrintable(text: string): string {
  const bytes: number[] = []
  const joined = text.replace(/=\r?\n/g, '')
  for (let i = 0; i < joined.length; i++) {
    const hex = joined[i] === '=' ? /^[0-9A-F]{2}$/i.exec(joined.slice(i + 1, i + 3)) : null
    if (hex) {
      bytes.push(parseInt(hex[0], 16))
      i += 2
    } else bytes.push(...Buffer.from(joined[i] ?? '', 'utf8'))
  }
  return Buffer.from(bytes).toString('utf8')
}
