// munin-master's zoom page: drag across the graph to draw that range.
//
// The page works without this script (see zoom.rs); this adds:
// - a drag over the plot area selects a range (a translucent band);
//   on release the range becomes the page's URL (history.pushState, with
//   Munin's start_epoch/stop_epoch, so it can be shared) and is drawn;
// - links and the form of the page load in place, as history entries;
// - back and forward (popstate) draw the entry's range again.
// Each new range's page is fetched from the server (which owns every
// link and number on it), its graph fetched with fetch() to read the
// X-Graph-* headers (the plot area librrd drew, at scale 1) and shown
// through a blob URL: the geometry always belongs to the image shown.
// No dependencies, no inline code, nothing global.
(function () {
  'use strict';

  var MIN_SPAN = 60;   // seconds; window.rs refuses shorter ranges
  var MIN_DRAG = 3;    // CSS pixels; less is a click, not a selection
  var loading = 0;     // the latest load; older answers are dropped
  var blob = null;     // the blob URL shown, revoked when replaced
  var scale = (window.devicePixelRatio || 1) > 1.5 ? 2 : 1;
  var cancel = null;   // ends the graph's selection, if one is under way

  // The plot area from a graph response's headers, or null.
  function geometry(res) {
    function num(name) {
      var v = res.headers.get(name);
      return v === null ? NaN : Number(v);
    }
    var g = {
      start: num('X-Graph-Start'),
      end: num('X-Graph-End'),
      left: num('X-Graph-Left'),
      top: num('X-Graph-Top'),
      width: num('X-Graph-Width'),
      height: num('X-Graph-Height'),
      imageWidth: num('X-Image-Width'),
      imageHeight: num('X-Image-Height')
    };
    for (var k in g) {
      if (!isFinite(g[k])) { return null; }
    }
    return g.width > 0 && g.imageWidth > 0 && g.end > g.start ? g : null;
  }

  function status(main, text) {
    var s = main.querySelector('#zoom-status');
    if (s) { s.textContent = text; }
  }

  // Makes the graph in `main` draggable once its geometry `geo` is known.
  function bind(main, geo) {
    var img = main.querySelector('#zoom-graph');
    var plot = img && img.parentNode;
    if (!geo || !plot) { return; }
    var band = document.createElement('div');
    band.className = 'zoom-sel';
    band.hidden = true;
    band.style.position = 'absolute';
    band.style.pointerEvents = 'none';
    plot.style.position = 'relative';
    plot.appendChild(band);
    plot.style.cursor = 'crosshair';
    img.draggable = false;
    var drag = null;

    // A pointer's x as image pixels (scale 1), within the plot area.
    function imageX(clientX, clamp) {
      var r = img.getBoundingClientRect();
      var x = (clientX - r.left) * geo.imageWidth / r.width;
      if (!clamp) { return x; }
      return Math.min(Math.max(x, geo.left), geo.left + geo.width);
    }
    function show() {
      var r = img.getBoundingClientRect();
      var p = plot.getBoundingClientRect();
      var k = r.width / geo.imageWidth;
      var a = Math.min(drag.x0, drag.x1);
      var b = Math.max(drag.x0, drag.x1);
      band.style.left = (r.left - p.left + a * k) + 'px';
      band.style.width = ((b - a) * k) + 'px';
      band.style.top = (r.top - p.top + geo.top * k) + 'px';
      band.style.height = (geo.height * k) + 'px';
      band.hidden = false;
    }
    function stop() {
      drag = null;
      band.hidden = true;
    }
    cancel = stop;
    plot.addEventListener('dragstart', function (e) { e.preventDefault(); });
    plot.addEventListener('pointerdown', function (e) {
      if (e.button !== 0 || drag) { return; }
      var x = imageX(e.clientX, false);
      if (x < geo.left || x > geo.left + geo.width) { return; }
      e.preventDefault();
      plot.setPointerCapture(e.pointerId);
      drag = { x0: x, x1: x, id: e.pointerId };
      show();
    });
    plot.addEventListener('pointermove', function (e) {
      if (!drag || e.pointerId !== drag.id) { return; }
      drag.x1 = imageX(e.clientX, true);
      show();
    });
    plot.addEventListener('pointerup', function (e) {
      if (!drag || e.pointerId !== drag.id) { return; }
      drag.x1 = imageX(e.clientX, true);
      var a = Math.min(drag.x0, drag.x1);
      var b = Math.max(drag.x0, drag.x1);
      var css = (b - a) * img.getBoundingClientRect().width / geo.imageWidth;
      stop();
      if (css < MIN_DRAG) { return; }
      var per = (geo.end - geo.start) / geo.width;
      var start = Math.round(geo.start + (a - geo.left) * per);
      var end = Math.round(geo.start + (b - geo.left) * per);
      if (end - start < MIN_SPAN) {
        var mid = Math.round((start + end) / 2);
        start = mid - MIN_SPAN / 2;
        end = start + MIN_SPAN;
      }
      var url = new URL(location.href);
      url.searchParams.delete('start');
      url.searchParams.delete('end');
      url.searchParams.set('start_epoch', String(start));
      url.searchParams.set('stop_epoch', String(end));
      go(url.href);
    });
    plot.addEventListener('pointercancel', stop);
    plot.dataset.zoom = 'ready';
  }

  // The graph's URL at this screen's scale.
  function graphUrl(img, pageUrl) {
    var u = new URL(img.getAttribute('src'), pageUrl);
    if (scale > 1) { u.searchParams.set('scale', String(scale)); }
    return u.href;
  }

  // Draws the page at `url` in place of this one.
  async function load(url) {
    var mine = ++loading;
    var main = document.querySelector('main');
    status(main, 'Drawing…');
    try {
      var res = await fetch(url, { headers: { Accept: 'text/html' } });
      var text = await res.text();
      var doc = new DOMParser().parseFromString(text, 'text/html');
      var next = doc.querySelector('main');
      if (!res.ok || !next) { throw new Error(text.trim() || res.statusText); }
      var img = next.querySelector('#zoom-graph');
      var geo = null;
      var shown = null;
      if (img) {
        var g = await fetch(graphUrl(img, url));
        if (!g.ok) { throw new Error((await g.text()).trim() || g.statusText); }
        geo = geometry(g);
        shown = URL.createObjectURL(await g.blob());
        img.removeAttribute('srcset');
        img.src = shown;
        if (geo) {
          img.width = geo.imageWidth;
          img.height = geo.imageHeight;
        }
        try { await img.decode(); } catch (e) { /* shown as it comes */ }
      }
      if (mine !== loading) {
        if (shown) { URL.revokeObjectURL(shown); }
        return;
      }
      next = document.adoptNode(next);
      main.replaceWith(next);
      document.title = doc.title;
      if (blob) { URL.revokeObjectURL(blob); }
      blob = shown;
      bind(next, geo);
    } catch (e) {
      if (mine === loading) {
        status(main, 'Cannot draw this range: ' + e.message);
      }
    }
  }

  // A new history entry for `url`, drawn.
  function go(url) {
    history.pushState({ zoom: url }, '', url);
    load(url);
  }

  // Links and the form of this page load in place (a modified click
  // opens a tab as usual).
  document.addEventListener('click', function (e) {
    var a = e.target.closest && e.target.closest('main a[href]');
    if (!a || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) { return; }
    var u = new URL(a.href);
    if (u.origin !== location.origin || u.pathname !== location.pathname) { return; }
    e.preventDefault();
    go(u.href);
  });
  document.addEventListener('submit', function (e) {
    var f = e.target;
    if (!f.classList || !f.classList.contains('zoom-form')) { return; }
    e.preventDefault();
    var u = new URL(f.action);
    u.search = new URLSearchParams(new FormData(f)).toString();
    go(u.href);
  });
  document.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' && cancel) { cancel(); }
  });
  window.addEventListener('popstate', function () { load(location.href); });

  // The page as the server sent it: the browser has drawn the graph
  // already; its headers are read from the cache (no second drawing).
  function start() {
    var main = document.querySelector('main');
    var img = main && main.querySelector('#zoom-graph');
    if (!img) { return; }
    var ready = function () {
      fetch(img.currentSrc || img.src, { cache: 'force-cache' })
        .then(function (res) { bind(main, res.ok ? geometry(res) : null); })
        .catch(function () { /* no dragging; the links still work */ });
    };
    if (img.complete) { ready(); } else { img.addEventListener('load', ready, { once: true }); }
  }
  start();
}());
