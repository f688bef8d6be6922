// Identifier shapes and normal forms, shared by every capability.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids from clients are checked before any lookup: anything else is "not found" at once. */
export const isUuid = (value: string) => UUID.test(value);

/**
 * An id from a client in its one canonical form (lower case, as PostgreSQL prints uuids), or
 * undefined when it is not an id: ids are compared in this form, so `ABC…` and `abc…` are one.
 */
export const canonicalId = (value: string): string | undefined => (UUID.test(value) ? value.toLowerCase() : undefined);

/** E-mail addresses are compared trimmed and lower-cased (login, limits, links, decoys). */
export const normaliseEmail = (email: string) => email.trim().toLowerCase();

/**
 * An address a mail can be sent to and nothing else: dot-atom local part (no quotes, commas,
 * angle brackets or comments, which mailers rewrite into other recipients) and a host name of
 * labels. The mail itself is the proof of ownership; this only keeps the stored address and the
 * mail's recipient the same.
 */
export const EMAIL_SHAPE =
  /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
