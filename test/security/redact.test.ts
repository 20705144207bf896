import { describe, expect, it } from "vitest";
import { passwordOf, redactUrl, withoutPassword } from "../../src/db/connection.js";

/** What underway writes about a connection URL: never its password, wherever libpq lets one be put. */
describe("redactUrl and withoutPassword", () => {
  const secret = "Zq7xW3pL9vK2";
  const forms = [
    `postgres://app:${secret}@db:5432/shop?sslmode=require`,
    `postgres://app:${secret}%40%2F@db/shop`,
    `postgres://app@db/shop?password=${secret}&sslmode=verify-full`,
    `postgres://app@db/shop?sslmode=require&password=${secret}`,
    `postgres://app@db/shop?sslcert=/c.crt&sslkey=/c.key&sslpassword=${secret}`,
    `postgres://app:${secret}@[bad/shop`,
    `host=db user=app password=${secret} dbname=shop`,
    `host=db user=app password='${secret} x' dbname=shop`,
  ];

  it.each(forms)("redactUrl hides the password of %s", (url) => {
    const shown = redactUrl(url);
    expect(shown).not.toContain(secret);
    expect(shown).toContain("***");
  });

  it("redactUrl keeps the rest of the URL", () => {
    expect(redactUrl(`postgres://app:${secret}@db:5432/shop?sslmode=require&password=${secret}&x=1`)).toBe("postgres://app:***@db:5432/shop?sslmode=require&password=***&x=1");
  });

  it("withoutPassword takes the password out and keeps every other part byte for byte", () => {
    expect(withoutPassword(`postgres://app:${secret}@db:5432/shop?sslmode=require`)).toBe("postgres://app@db:5432/shop?sslmode=require");
    expect(withoutPassword(`postgres://app@db/shop?password=${secret}&sslmode=verify-full`)).toBe("postgres://app@db/shop?sslmode=verify-full");
    expect(withoutPassword(`postgres://app@db/shop?sslmode=require&password=${secret}`)).toBe("postgres://app@db/shop?sslmode=require");
    expect(withoutPassword(`postgres://app@db/shop?password=${secret}`)).toBe("postgres://app@db/shop");
    expect(withoutPassword("postgres://app@db/shop?options=-c%20x%3D1")).toBe("postgres://app@db/shop?options=-c%20x%3D1");
  });
});

describe("passwordOf", () => {
  it("reads the password from the user-info part or the password parameter, percent-decoded", () => {
    expect(passwordOf("postgres://app:a%40b%2Fc@db/shop")).toBe("a@b/c");
    expect(passwordOf("postgres://app@db/shop?sslmode=require&password=x%26y")).toBe("x&y");
    expect(passwordOf("postgres://app@db/shop")).toBeUndefined();
  });
});
