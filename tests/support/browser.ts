/**
 * Plays the person at the browser for tests and the demo: a `fetch` with a
 * cookie jar that follows redirects by hand and fills in the forms of the
 * test authorization server (`./idp.ts`): the device code page, its
 * confirmation, the log-in page (any name and password pass) and the
 * consent page.
 *
 * Requires `--allow-net`.
 *
 * @example Approving a device log-in
 * ```ts ignore
 * import { approveDeviceLogin } from "./browser.ts";
 *
 * await approveDeviceLogin(prompt.verificationUri, prompt.userCode);
 * ```
 *
 * @module
 */

/** Options of {@linkcode Browser.visit} and the helpers built on it. */
export interface VisitOptions {
  /**
   * The name typed on the log-in page.
   *
   * @default {"person@example.com"}
   */
  login?: string;
  /** The device's user code, for a device verification page without one. */
  userCode?: string;
  /** Cancel at the log-in page, or abort at the device confirmation. */
  deny?: boolean;
  /**
   * Request the redirect that leaves the server (the loopback callback), so
   * the listener there receives it.
   *
   * @default {true}
   */
  followCallback?: boolean;
  /**
   * The most requests one visit may make.
   *
   * @default {25}
   */
  maxRequests?: number;
}

/** Where a visit ended. */
export interface VisitResult {
  /** The last URL requested; the callback URL when the visit left the server. */
  url: URL;
  /** That request's status, or 0 when it was not made. */
  status: number;
  /** That response's text. */
  body: string;
  /** Whether the server redirected out of its own origin (to a callback). */
  leftServer: boolean;
}

interface Form {
  action: string;
  method: string;
  id?: string;
  fields: Map<string, string>;
}

interface Step {
  url: URL;
  body?: URLSearchParams;
}

interface Cookie {
  name: string;
  value: string;
  path: string;
}

/** A cookie jar and a `fetch` that fills in the test server's forms. */
export class Browser {
  readonly #fetch: typeof fetch;
  #cookies: Cookie[] = [];

  /**
   * @param fetcher The `fetch` to use.
   */
  constructor(fetcher: typeof fetch = fetch) {
    this.#fetch = fetcher;
  }

  /**
   * Opens a URL and acts as the person until the server redirects out of its
   * origin or shows a page without a form left to fill in.
   *
   * @param url An authorization URL or a device verification URL.
   * @param options The name, the user code, and whether to deny.
   * @returns Where the visit ended.
   */
  async visit(
    url: string | URL,
    options: VisitOptions = {},
  ): Promise<VisitResult> {
    const origin = new URL(url).origin;
    const filled = new Set<string>();
    let step: Step = { url: new URL(url) };
    for (let count = 0; count < (options.maxRequests ?? 25); count++) {
      const response = await this.#send(step);
      const body = await response.text();
      const location = response.headers.get("location");
      if (response.status >= 300 && response.status < 400 && location) {
        const next = new URL(location, step.url);
        if (next.origin !== origin) return await this.#leave(next, options);
        step = { url: next };
        continue;
      }
      if (!response.ok) {
        throw new Error(
          `The page "${step.url}" answered ${response.status}: ${
            pageText(body)
          }`,
        );
      }
      const next = this.#act(body, step.url, filled, options);
      if (next === undefined) {
        return {
          url: step.url,
          status: response.status,
          body,
          leftServer: false,
        };
      }
      step = next;
    }
    throw new Error(`The visit to "${url}" took more than its request limit`);
  }

  async #leave(url: URL, options: VisitOptions): Promise<VisitResult> {
    if (options.followCallback === false) {
      return { url, status: 0, body: "", leftServer: true };
    }
    const response = await this.#fetch(url, { redirect: "manual" });
    const body = await response.text();
    return { url, status: response.status, body, leftServer: true };
  }

  /** Picks what the person does on a page, or `undefined` when done. */
  #act(
    page: string,
    url: URL,
    filled: Set<string>,
    options: VisitOptions,
  ): Step | undefined {
    const form = parseForms(page).find((form) => !filled.has(formKey(form)));
    if (form === undefined) return undefined;
    filled.add(formKey(form));
    const fields = form.fields;
    if (fields.has("password")) {
      if (options.deny) {
        const abort = /href="([^"]*\/abort)"/.exec(page)?.[1];
        return abort ? { url: new URL(decode(abort), url) } : undefined;
      }
      fields.set("login", options.login ?? "person@example.com");
      fields.set("password", "any password");
    }
    if (fields.has("user_code") && !fields.has("confirm")) {
      // Asked for the code a second time: the first one was refused.
      if (filled.has("user_code")) return undefined;
      filled.add("user_code");
      if (!fields.get("user_code")) {
        if (!options.userCode) return undefined;
        fields.set("user_code", options.userCode);
      }
    }
    if (fields.has("confirm") && options.deny) {
      fields.delete("confirm");
      fields.set("abort", "yes");
    }
    const target = new URL(form.action || url.href, url);
    if (form.method !== "post") {
      for (const [name, value] of fields) target.searchParams.set(name, value);
      return { url: target };
    }
    return { url: target, body: new URLSearchParams([...fields]) };
  }

  async #send(step: Step): Promise<Response> {
    const path = step.url.pathname;
    const cookie = this.#cookies
      .filter((cookie) => path.startsWith(cookie.path))
      .map(({ name, value }) => `${name}=${value}`)
      .join("; ");
    const headers = new Headers();
    if (cookie) headers.set("cookie", cookie);
    const response = await this.#fetch(step.url, {
      method: step.body ? "POST" : "GET",
      headers,
      body: step.body,
      redirect: "manual",
    });
    for (const line of response.headers.getSetCookie()) this.#store(line);
    return response;
  }

  #store(line: string): void {
    const [pair = "", ...attributes] = line.split(";").map((s) => s.trim());
    const equals = pair.indexOf("=");
    const name = pair.slice(0, equals);
    const value = pair.slice(equals + 1);
    const attribute = (key: string) =>
      attributes.find((a) => a.toLowerCase().startsWith(`${key}=`))
        ?.slice(key.length + 1);
    const path = attribute("path") ?? "/";
    const expires = attribute("expires");
    const gone = attribute("max-age") === "0" ||
      (expires !== undefined && Date.parse(expires) < Date.now());
    this.#cookies = this.#cookies.filter((c) =>
      c.name !== name || c.path !== path
    );
    if (!gone) this.#cookies.push({ name, value, path });
  }
}

/**
 * Runs an authorization request as the person: logs in, consents, and
 * requests the callback so the loopback listener there receives it.
 *
 * @param authorizationUrl The URL the authenticator opened.
 * @param options The name, or `deny` to cancel at the log-in page.
 * @returns The callback URL with its `code` or `error`.
 */
export async function authorizeInBrowser(
  authorizationUrl: string | URL,
  options: VisitOptions = {},
): Promise<URL> {
  const result = await new Browser().visit(authorizationUrl, options);
  if (!result.leftServer) {
    throw new Error(
      `The authorization at "${authorizationUrl}" ended on a page instead of a redirect: ${
        pageText(result.body)
      }`,
    );
  }
  return result.url;
}

/**
 * Approves (or, with `deny`, aborts) a device log-in as the person.
 *
 * @param verificationUri The verification URI, or the complete one.
 * @param userCode The user code, when the URI does not carry it.
 * @param options The name, or `deny`.
 * @returns The final page.
 */
export async function approveDeviceLogin(
  verificationUri: string | URL,
  userCode?: string,
  options: VisitOptions = {},
): Promise<VisitResult> {
  const result = await new Browser().visit(verificationUri, {
    ...options,
    userCode,
  });
  const text = pageText(result.body);
  if (!options.deny && !/success/i.test(text)) {
    throw new Error(`The device log-in did not succeed: ${text}`);
  }
  return result;
}

function parseForms(page: string): Form[] {
  const forms: Form[] = [];
  for (const match of page.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attributes = parseAttributes(match[1]!);
    const fields = new Map<string, string>();
    for (const input of match[2]!.matchAll(/<input\b([^>]*)>/gi)) {
      const { name, value = "" } = parseAttributes(input[1]!);
      if (name) fields.set(name, value);
    }
    forms.push({
      action: attributes.action ?? "",
      method: (attributes.method ?? "get").toLowerCase(),
      id: attributes.id,
      fields,
    });
  }
  return forms;
}

function parseAttributes(text: string): Record<string, string | undefined> {
  const attributes: Record<string, string> = {};
  for (const match of text.matchAll(/([\w-]+)\s*=\s*"([^"]*)"/g)) {
    attributes[match[1]!.toLowerCase()] = decode(match[2]!);
  }
  return attributes;
}

function formKey(form: Form): string {
  return `${form.method} ${form.action} ${form.id ?? ""} ${
    [...form.fields.keys()].join(",")
  } ${form.fields.get("xsrf") ?? ""}`;
}

function decode(text: string): string {
  return text.replace(
    /&(amp|lt|gt|quot|#39);/g,
    (_, entity: string) =>
      ({ amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'" })[entity]!,
  );
}

/** A page's visible text, short, for error messages. */
function pageText(page: string): string {
  return decode(
    page.replace(/<(style|script)[\s\S]*?<\/\1>/gi, " ")
      .replace(/<[^>]+>/g, " ")
      .replace(/\s+/g, " "),
  ).trim().slice(0, 300);
}
