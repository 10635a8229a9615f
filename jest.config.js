const { workspacePackages } = require("./workspace-packages");

/** One jest run over every workspace's test/ folder; TypeScript is transpiled, and type-checked by `tsc -b`. */
module.exports = {
  testEnvironment: "node",
  // Builds first, so end-to-end tests never run a stale dist/ (jest.global-setup.js).
  globalSetup: "<rootDir>/jest.global-setup.js",
  testMatch: ["<rootDir>/**/test/**/*.test.ts"],
  testPathIgnorePatterns: ["/node_modules/", "/dist/"],
  // The golden copy of generated/package.json would shadow the real package.
  modulePathIgnorePatterns: ["<rootDir>/generator/test/golden/package/"],
  transform: {
    "^.+\\.ts$": ["ts-jest", { tsconfig: "<rootDir>/tsconfig.test.json" }],
  },
  // Tests run against sources, not build output (end-to-end tests start the built runtime):
  // every workspace package by name, from the one package map (workspace-packages.js).
  moduleNameMapper: {
    ...Object.fromEntries(
      workspacePackages().map(({ name, dir, source }) =>
        source === "."
          ? [`^${name}/(.*)$`, `<rootDir>/${dir}/$1`]
          : [`^${name}$`, `<rootDir>/${dir}/${source}`],
      ),
    ),
    // ESM-style relative imports ("./call.js", as the SDK writes them) name the .ts source.
    "^(\\.{1,2}/.*)\\.js$": "$1",
  },
};
