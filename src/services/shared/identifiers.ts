// Identifier shapes and normal forms, shared by every capability.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids from clients are checked before any lookup: anything else is "not found" at once. */
export const isUuid = (value: string) => UUID.test(value);

/** E-mail addresses are compared trimmed and lower-cased (login, limits, links, decoys). */
export const normaliseEmail = (email: string) => email.trim().toLowerCase();
