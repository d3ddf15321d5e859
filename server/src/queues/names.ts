/** Queue names. The prefix (a Redis hash tag such as `{hotline}`) comes from config. */
export const QUEUES = {
  /** Side effects of ticket transitions (outbox → BullMQ → handlers). */
  ticketEvents: 'ticket-events',
} as const;
