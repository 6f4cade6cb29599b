/**
 * A reader for flytekit's legacy INI config (`flytekit.config`,
 * `~/.flyte/config`), with the rules of Python's `configparser` that
 * flytekit relies on, and line numbers for messages.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";

/** One setting of an INI file. */
export interface IniValue {
  /** The value, trimmed; continuation lines are joined with `\n`. */
  value: string;
  /** The 1-based line of the key. */
  line: number;
}

/** A parsed INI file. */
export interface IniFile {
  /**
   * Reads a setting; `[DEFAULT]` applies to every section, as in
   * `configparser`.
   *
   * @param section The section name, case-sensitive.
   * @param option The option name, case-insensitive.
   * @returns The value and its line, or `undefined`.
   */
  get(section: string, option: string): IniValue | undefined;
}

const SECTION = /^\[([^\]]+)\]\s*$/;
const OPTION = /^([^=:]*?)\s*[=:]\s*(.*)$/;
const DEFAULT_SECTION = "DEFAULT";

/**
 * Parses INI text. Messages never quote a line: a misplaced secret stays out
 * of them.
 *
 * @param text The file's text.
 * @param path The file's path, for messages.
 * @returns The settings.
 * @throws {ConfigError} When a line is neither a section header, a setting,
 * a continuation nor a comment, or a section or key appears twice.
 */
export function parseIni(text: string, path: string): IniFile {
  const sections = new Map<string, Map<string, IniValue>>();
  let section: Map<string, IniValue> | undefined;
  let sectionName = "";
  let last: IniValue | undefined;

  for (
    const [index, raw] of text.replace(/^\uFEFF/, "").split(/\r?\n/).entries()
  ) {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#") || trimmed.startsWith(";")) {
      continue;
    }
    if (/^\s/.test(raw) && last) {
      last.value = last.value === "" ? trimmed : `${last.value}\n${trimmed}`;
      continue;
    }
    const header = SECTION.exec(trimmed);
    if (header) {
      sectionName = header[1]!.trim();
      if (sections.has(sectionName)) {
        throw syntaxError(
          path,
          line,
          `section [${sectionName}] appears twice`,
          "merge the two sections",
        );
      }
      section = new Map();
      sections.set(sectionName, section);
      last = undefined;
      continue;
    }
    last = addOption(section, sectionName, trimmed, path, line);
  }
  return { get: (name, option) => lookUp(sections, name, option) };
}

function addOption(
  section: Map<string, IniValue> | undefined,
  sectionName: string,
  text: string,
  path: string,
  line: number,
): IniValue {
  if (section === undefined) {
    throw syntaxError(
      path,
      line,
      "a setting comes before the first [section] header",
      "put it under [platform] or [credentials]",
    );
  }
  const match = OPTION.exec(text);
  const key = match?.[1]?.toLowerCase();
  if (!match || !key) {
    throw syntaxError(
      path,
      line,
      "the line is not a [section] header, a key = value setting or a comment",
      "fix or remove the line",
    );
  }
  if (section.has(key)) {
    throw syntaxError(
      path,
      line,
      `"${key}" appears twice in [${sectionName}]`,
      "keep one of them",
    );
  }
  const value: IniValue = { value: match[2]!.trim(), line };
  section.set(key, value);
  return value;
}

function lookUp(
  sections: Map<string, Map<string, IniValue>>,
  section: string,
  option: string,
): IniValue | undefined {
  const key = option.toLowerCase();
  return sections.get(section)?.get(key) ??
    sections.get(DEFAULT_SECTION)?.get(key);
}

function syntaxError(
  path: string,
  line: number,
  problem: string,
  fix: string,
): ConfigError {
  return new ConfigError(
    `Cannot parse the config file "${path}" at line ${line}: ${problem}; ${fix}`,
  );
}
