/** One jest run over every workspace's test/ folder; TypeScript is transpiled, and type-checked by `tsc -b`. */
module.exports = {
  testEnvironment: "node",
  testMatch: ["<rootDir>/**/test/**/*.test.ts"],
  testPathIgnorePatterns: ["/node_modules/", "/dist/"],
  // The golden copy of generated/package.json would shadow the real package.
  modulePathIgnorePatterns: ["<rootDir>/generator/test/golden/package/"],
  transform: {
    "^.+\\.ts$": ["ts-jest", { tsconfig: "<rootDir>/tsconfig.test.json" }],
  },
  // Tests run against sources, not build output (end-to-end tests start the built runtime).
  moduleNameMapper: {
    "^@ottavo/generated/(.*)$": "<rootDir>/generated/$1",
    "^@ottavo/adapter-([a-z]+)$": "<rootDir>/adapters/$1/src",
    "^@ottavo/conformance$": "<rootDir>/adapters/conformance/src",
    "^@ottavo/test-support$": "<rootDir>/test-support/src",
    "^@ottavo/runtime-kernel$": "<rootDir>/runtime-kernel/src",
  },
};
