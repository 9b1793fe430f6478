/**
 * End-to-end tests: real Nx workspaces in temporary folders with the packed plugin (dist/stigmer-*.tgz)
 * installed, real PyInstaller from PyPI, real binaries that are run. Run with `npm run test:e2e`.
 */
module.exports = {
  displayName: 'e2e',
  rootDir: __dirname,
  testEnvironment: 'node',
  testMatch: ['<rootDir>/src/**/*.e2e.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }],
  },
  testTimeout: 10 * 60 * 1000,
  maxWorkers: 1,
  // Every suite stops the processes it starts in afterAll; a handle one leaks after a failure must not hold CI
  // until its time limit.
  forceExit: true,
};
