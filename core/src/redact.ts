/** Removes credentials from text that may echo a connection string (driver errors, URLs). */
export function redactCredentials(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/gi, '$1***@')
}

/** Paths pino removes from every log line, wherever a careless caller puts a secret. */
export const REDACTED_LOG_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers["x-api-key"]',
  '*.headers.cookie',
  'password',
  '*.password',
  'token',
  '*.token',
  'api_key',
  '*.api_key',
  'secret_key',
  '*.secret_key',
  'encryption_key',
  '*.encryption_key',
  'previous_encryption_keys',
  '*.previous_encryption_keys',
  'private_key',
  '*.private_key',
]
