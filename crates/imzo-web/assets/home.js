/* home.js — the home page only checks whether the signing module runs. */
(function () {
  'use strict';
  Portal.checkModule();
  Portal.onModuleRetry(Portal.checkModule);
})();
