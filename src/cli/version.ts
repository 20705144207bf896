/** The version `underway --version` prints; a module of its own so printing it loads nothing else. */
export const VERSION = "0.1.0";
