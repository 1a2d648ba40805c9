import pino from 'pino'
import type { Config } from './config/schema.js'
import type { Logger } from './logger.js'
import { REDACTED_LOG_PATHS } from './redact.js'

/**
 * Fields a request's logger adds to every line it (or a child of it) writes: Fastify's bindings
 * (the request id) and those of `bindRequestFields`. Cheaper than a child logger per request:
 * pino serialises (and redacts) a child's bindings when it is created, whether or not a line is
 * ever written, and most requests write none.
 */
const REQUEST_FIELDS = Symbol('parley.requestFields')
/** More fields, made only when a line is written (most requests write none). */
const LATER_FIELDS = Symbol('parley.laterFields')

type WithFields = { [REQUEST_FIELDS]?: Record<string, unknown>; [LATER_FIELDS]?: () => Record<string, unknown> }

/**
 * Every line `logger` (a request's own logger) and its children write carries the fields that
 * `fields` returns, asked for when a line is written.
 */
export function bindRequestFields(logger: object, fields: () => Record<string, unknown>): void {
  const bound = logger as WithFields
  bound[LATER_FIELDS] = fields
}

/**
 * Fastify's `childLoggerFactory`: a request's logger, with the request id among its fields.
 * Not a pino child: pino builds (and redacts) a child's bindings when it is made, which costs
 * about 5 KB and a few microseconds on every request, logged or not. This is the parent with
 * the fields on top (`Object.create`, as pino's own children are), added by the mixin to the
 * lines actually written.
 */
export function requestLogger(parent: Logger, bindings: Record<string, unknown>): Logger {
  const logger = Object.create(parent) as Logger & WithFields
  logger[REQUEST_FIELDS] = bindings
  return logger
}

/** The process logger: JSON lines, secrets redacted by path, level from config. */
export function createLogger(config: Pick<Config, 'log'>, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level: config.log.level,
    base: { service: 'parley' },
    redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Children inherit the request fields through their prototype (pino children are Object.create
    // of the parent). A fresh object each time: pino merges the line's own fields into it.
    mixin: (_object, _level, logger) => {
      const bound = logger as WithFields
      return { ...bound[REQUEST_FIELDS], ...bound[LATER_FIELDS]?.() }
    },
  }
  return (destination ? pino(options, destination) : pino(options)) as unknown as Logger
}
