/** Unit tests of the plugin: logic only, on virtual trees and temporary folders. */
module.exports = {
  displayName: 'stigmer',
  rootDir: __dirname,
  testEnvironment: 'node',
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json' }],
  },
};
