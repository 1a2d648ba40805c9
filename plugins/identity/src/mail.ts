import type { Transporter } from 'nodemailer'

/** One plain-text mail. */
export interface MailMessage {
  readonly to: string
  readonly subject: string
  readonly text: string
}

/**
 * Where identity's mail goes (password reset links). The SMTP transport is the only one
 * shipped; a test points it at a real SMTP server it started (`smtp-server`) and reads the mail
 * there.
 */
export interface MailTransport {
  send(message: MailMessage): Promise<void>
  close(): void
}

/** The `mail` options of the plugin (docs/identity.md, Password reset by mail). */
export interface MailOptions {
  readonly smtp_url?: string | undefined
  readonly from?: string | undefined
}

/** How long one SMTP exchange may take before the mail counts as failed. */
const SMTP_TIMEOUT_MS = 15_000

/**
 * Sends through an SMTP server with nodemailer: `smtp://` (STARTTLS when the server offers it)
 * or `smtps://` (TLS from the start), with the user and password in the URL. The URL is a
 * secret: it is never logged.
 */
export class SmtpTransport implements MailTransport {
  /** Loaded with the first mail: a gateway without mail never loads nodemailer. */
  #transport: Promise<Transporter> | undefined

  constructor(
    private readonly url: string,
    private readonly from: string,
  ) {}

  async send(message: MailMessage): Promise<void> {
    this.#transport ??= import('nodemailer').then(({ default: nodemailer }) =>
      nodemailer.createTransport({
        url: this.url,
        connectionTimeout: SMTP_TIMEOUT_MS,
        greetingTimeout: SMTP_TIMEOUT_MS,
        socketTimeout: SMTP_TIMEOUT_MS,
      }),
    )
    const transport = await this.#transport
    await transport.sendMail({ from: this.from, to: message.to, subject: message.subject, text: message.text })
  }

  close(): void {
    void this.#transport?.then(transport => transport.close()).catch(() => undefined)
  }
}

/** The configured transport, or undefined when mail is off (no SMTP URL or no sender). */
export function mailTransportOf(
  options: MailOptions | undefined,
  env: Readonly<Record<string, string | undefined>> = process.env,
): MailTransport | undefined {
  const url = options?.smtp_url ?? env.SMTP_URL
  const from = options?.from
  if (!url || !from) return undefined
  return new SmtpTransport(url, from)
}
