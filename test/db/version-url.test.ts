import { describe, expect, it } from "vitest";
import { versionUrl, withSearchPath } from "../../src/db/version-url.js";

/** The `options` parameter of a URL, percent-decoded as libpq reads it. */
function optionsOf(url: string): string | null {
  const match = /[?&]options=([^&]*)/.exec(url);
  return match ? decodeURIComponent(match[1]!) : null;
}

describe("versionUrl", () => {
  it("puts the version schema, then the schema, on the search path, both quoted", () => {
    const { url, passwordLeftOut } = versionUrl("postgres://app@db:5432/shop", "public_02_rename", "public");
    expect(optionsOf(url)).toBe('-c search_path="public_02_rename","public"');
    expect(url.startsWith("postgres://app@db:5432/shop?options=")).toBe(true);
    expect(passwordLeftOut).toBe(false);
  });

  it("leaves the password out and says so", () => {
    const { url, passwordLeftOut } = versionUrl("postgres://app:s3cret@db/shop?sslmode=require", "v2", "app");
    expect(url).not.toContain("s3cret");
    expect(url.startsWith("postgres://app@db/shop?sslmode=require&options=")).toBe(true);
    expect(passwordLeftOut).toBe(true);
  });

  it("quotes a schema name that needs it", () => {
    const { url } = versionUrl("postgres://app@db/shop", 'Odd"Name', "public");
    expect(optionsOf(url)).toBe('-c search_path="Odd""Name","public"');
  });
});

describe("withSearchPath", () => {
  it("replaces a search_path already in the options and keeps the other options", () => {
    const given = `postgres://app@db/shop?options=${encodeURIComponent("-c work_mem=64MB -c search_path=old -c statement_timeout=5s")}`;
    expect(optionsOf(withSearchPath(given, '"v2","public"'))).toBe('-c work_mem=64MB -c statement_timeout=5s -c search_path="v2","public"');
  });
});
