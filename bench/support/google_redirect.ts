/**
 * Sends google-auth-library's token requests to a local fake: it ignores a
 * key file's `token_uri` and always posts to Google's token URL, so a
 * request interceptor on its HTTP layer (gaxios) rewrites that URL, and
 * refuses any other request that would leave the machine.
 *
 * @module
 */

import { GOOGLE_TOKEN_URLS } from "../../tests/support/fake_google.ts";

/** The part of a gaxios request the interceptor reads and rewrites. */
interface PreparedRequest {
  url: URL;
}

/** The part of a gaxios instance the interceptor is added to. */
export interface Transporter {
  interceptors: {
    request: {
      add(interceptor: {
        resolved?: <T extends PreparedRequest>(request: T) => Promise<T>;
      }): void;
    };
  };
}

/**
 * Adds the interceptor to a google-auth-library client's transporter.
 *
 * @param transporter The client's gaxios instance.
 * @param tokenUri The fake token endpoint.
 */
export function redirectGoogleTokenUrl(
  transporter: Transporter,
  tokenUri: string,
): void {
  transporter.interceptors.request.add({
    resolved(request) {
      const url = request.url.href;
      if (GOOGLE_TOKEN_URLS.includes(url)) {
        request.url = new URL(tokenUri);
      } else if (request.url.hostname !== "127.0.0.1") {
        throw new Error(`The benchmark refuses a request to "${url}"`);
      }
      return Promise.resolve(request);
    },
  });
}
