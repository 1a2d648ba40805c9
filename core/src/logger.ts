import type { FastifyBaseLogger } from 'fastify'

/** The structured logger every part of Parley writes to (pino under Fastify). */
export type Logger = FastifyBaseLogger
