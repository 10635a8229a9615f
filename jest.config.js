/** One jest run over every workspace's test/ folder; TypeScript is transpiled, and type-checked by `tsc -b`. */
module.exports = {
  testEnvironment: "node",
  testMatch: ["<rootDir>/**/test/**/*.test.ts"],
  testPathIgnorePatterns: ["/node_modules/", "/dist/"],
  transform: {
    "^.+\\.ts$": ["ts-jest", { tsconfig: "<rootDir>/tsconfig.test.json" }],
  },
  // Tests run against sources, not build output.
  moduleNameMapper: {
    "^@ottavo/generated/(.*)$": "<rootDir>/generated/$1",
  },
};
