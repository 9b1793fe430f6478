// nx release's version actions for stigmer services: "release": { "version": { "versionActions": "stigmer/release" } }.
module.exports = require('./dist/release/version-actions');
