import pino from 'pino'
import type { Config } from './config/schema.js'
import type { Logger } from './logger.js'
import { REDACTED_LOG_PATHS } from './redact.js'

/** The process logger: JSON lines, secrets redacted by path, level from config. */
export function createLogger(config: Pick<Config, 'log'>, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level: config.log.level,
    base: { service: 'parley' },
    redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  }
  return (destination ? pino(options, destination) : pino(options)) as unknown as Logger
}
