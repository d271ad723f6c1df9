// Starts Swagger UI on the API document. A file of its own, not an inline
// script, so the page's Content-Security-Policy allows only this site's
// scripts. The base layout has no top bar: its logo is an SVG with an
// inline style, which the policy refuses.
'use strict';

window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: 'openapi.yaml',
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
    validatorUrl: null
  });
});
