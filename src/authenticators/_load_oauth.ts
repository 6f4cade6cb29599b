/**
 * The one loader of the OAuth protocol module for the authenticators that
 * speak it.
 *
 * The protocol is imported on the first token request, so that a program
 * finding its token cached never loads it, and then kept: a dynamic import
 * per request would go through the module loader each time (about 20 µs).
 *
 * @module
 */

import { once } from "../_once.ts";

/** Imports `_oauth.ts` on the first call; after a failure, again. */
export const loadOAuth: () => Promise<typeof import("./_oauth.ts")> = once(
  () => import("./_oauth.ts"),
);
