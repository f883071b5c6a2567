// Ajouter un papier, with JavaScript: each photo is checked on the phone, before anything
// is sent, for what the server's check would find (a blurred, dark, reflecting or cut
// off photo, a sheet not found, too few pixels), so that a person who pays for every
// byte can take it again first. The server still checks every photo it receives and
// stays the authority; this check only lets the person know sooner.
//
// It is the server's check (ingest: quality.go, detect.go and photoPage in normalize.go)
// written again, measure for measure and with the same thresholds, run on the photo as
// it will be sent (upload.js has already made it smaller): the server then sees the same
// pixels. TestPrecheckAgrees runs both on the same photos and compares their verdicts.
// Plain JavaScript, no framework; it only reads pixels and never sends anything.
'use strict';
window.CoffrePrecheck = (function () {
  // ingest/quality.go
  var BLUR = 0.20, DARK = 85, GLARE = 0.02, CUT_OFF = 0.03, LOW_RES = 550;
  // ingest/detect.go
  var MIN_SHEET_AREA = 0.08, MAX_SHEET_AREA = 0.985, MIN_EDGE_STEP = 12;
  // ingest/normalize.go
  var DETECT_LONG = 640, A4_W = 1654, A4_H = 2339, A4_TOLERANCE = 0.12;

  // A plane is one channel of floats, like ingest's plane.
  function plane(w, h) { return { w: w, h: h, p: new Float32Array(w * h) }; }

  function at(pl, x, y) {
    x = Math.min(Math.max(x, 0), pl.w - 1);
    y = Math.min(Math.max(y, 0), pl.h - 1);
    return pl.p[y * pl.w + x];
  }

  // Bilinear, in continuous coordinates (pixel i covers [i, i+1)).
  function sample(pl, x, y) {
    x -= 0.5;
    y -= 0.5;
    var x0 = Math.floor(x), y0 = Math.floor(y), fx = x - x0, fy = y - y0;
    var a = at(pl, x0, y0), b = at(pl, x0 + 1, y0), c = at(pl, x0, y0 + 1), d = at(pl, x0 + 1, y0 + 1);
    return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy;
  }

  // Separable box filter of radius r, replicating the border pixels.
  function boxBlur(pl, r) {
    var w = pl.w, h = pl.h, tmp = plane(w, h), inv = Math.fround(1 / (2 * r + 1));
    var x, y, s;
    for (y = 0; y < h; y++) {
      var o = y * w;
      var atx = function (x) { return pl.p[o + Math.min(Math.max(x, 0), w - 1)]; };
      s = 0;
      for (x = -r - 1; x < r; x++) s += atx(x);
      for (x = 0; x < w; x++) {
        s += atx(x + r) - atx(x - r - 1);
        tmp.p[o + x] = s * inv;
      }
    }
    var out = plane(w, h), sum = new Float64Array(w);
    function row(y) { return Math.min(Math.max(y, 0), h - 1) * w; }
    for (y = -r - 1; y < r; y++) {
      var ro = row(y);
      for (x = 0; x < w; x++) sum[x] += tmp.p[ro + x];
    }
    for (y = 0; y < h; y++) {
      var add = row(y + r), sub = row(y - r - 1), dst = y * w;
      for (x = 0; x < w; x++) {
        sum[x] += tmp.p[add + x] - tmp.p[sub + x];
        out.p[dst + x] = sum[x] * inv;
      }
    }
    return out;
  }

  // Paper-likeness: bright and unsaturated (detect.go, whiteness).
  function whiteness(img) {
    var pl = plane(img.w, img.h), d = img.d;
    for (var i = 0; i < img.w * img.h; i++) {
      var r = d[4 * i], g = d[4 * i + 1], b = d[4 * i + 2];
      pl.p[i] = 0.299 * r + 0.587 * g + 0.114 * b - 1.5 * (Math.max(r, g, b) - Math.min(r, g, b));
    }
    return pl;
  }

  function otsu(pl, lo, hi) {
    var n = 256, hist = new Float64Array(n), scale = Math.fround((n - 1) / (hi - lo)), i;
    for (i = 0; i < pl.p.length; i++) {
      var v = pl.p[i];
      if (v < lo) continue;
      hist[Math.min(Math.max(Math.trunc((v - lo) * scale), 0), n - 1)]++;
    }
    var total = pl.p.length, sum = 0;
    for (i = 0; i < n; i++) sum += i * hist[i];
    var sumB = 0, wB = 0, best = 0, bi = 0;
    for (i = 0; i < n; i++) {
      wB += hist[i];
      if (wB === 0) continue;
      var wF = total - wB;
      if (wF === 0) break;
      sumB += i * hist[i];
      var mB = sumB / wB, mF = (sum - sumB) / wF, bv = wB * wF * (mB - mF) * (mB - mF);
      if (bv > best) { best = bv; bi = i; }
    }
    return Math.fround(lo + (bi + 0.5) / scale);
  }

  // Geometry (geom.go): points {x, y}, quads of four points.
  function dist(a, b) { return Math.hypot(a.x - b.x, a.y - b.y); }
  function cross(o, a, b) { return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x); }
  function polyArea(p) {
    var s = 0;
    for (var i = 0; i < p.length; i++) {
      var j = (i + 1) % p.length;
      s += p[i].x * p[j].y - p[j].x * p[i].y;
    }
    return s / 2;
  }
  function convexHull(p) {
    if (p.length < 3) return p;
    var h = [], i, q, lo;
    for (i = 0; i < p.length; i++) {
      q = p[i];
      while (h.length >= 2 && cross(h[h.length - 2], h[h.length - 1], q) <= 0) h.pop();
      h.push(q);
    }
    lo = h.length + 1;
    for (i = p.length - 2; i >= 0; i--) {
      q = p[i];
      while (h.length >= lo && cross(h[h.length - 2], h[h.length - 1], q) <= 0) h.pop();
      h.push(q);
    }
    h.pop();
    return h;
  }
  function orderQuad(q) {
    var c = { x: (q[0].x + q[1].x + q[2].x + q[3].x) / 4, y: (q[0].y + q[1].y + q[2].y + q[3].y) / 4 };
    var pts = q.slice();
    function ang(p) { return Math.atan2(p.y - c.y, p.x - c.x); }
    for (var i = 1; i < 4; i++) {
      for (var j = i; j > 0 && ang(pts[j]) < ang(pts[j - 1]); j--) {
        var t = pts[j]; pts[j] = pts[j - 1]; pts[j - 1] = t;
      }
    }
    var best = Infinity, bi = 0;
    pts.forEach(function (p, k) { if (p.x + p.y < best) { best = p.x + p.y; bi = k; } });
    return [pts[bi], pts[(bi + 1) % 4], pts[(bi + 2) % 4], pts[(bi + 3) % 4]];
  }
  function intersect(a, b) {
    var den = a.d.x * b.d.y - a.d.y * b.d.x;
    if (Math.abs(den) < 1e-9) return null;
    var t = ((b.p.x - a.p.x) * b.d.y - (b.p.y - a.p.y) * b.d.x) / den;
    return { x: a.p.x + t * a.d.x, y: a.p.y + t * a.d.y };
  }
  function fitLine(p) {
    var mx = 0, my = 0, sxx = 0, sxy = 0, syy = 0, i;
    for (i = 0; i < p.length; i++) { mx += p[i].x; my += p[i].y; }
    mx /= p.length;
    my /= p.length;
    for (i = 0; i < p.length; i++) {
      var dx = p[i].x - mx, dy = p[i].y - my;
      sxx += dx * dx;
      sxy += dx * dy;
      syy += dy * dy;
    }
    var th = 0.5 * Math.atan2(2 * sxy, sxx - syy);
    return { p: { x: mx, y: my }, d: { x: Math.cos(th), y: Math.sin(th) } };
  }

  // The largest 4-connected component of a mask, and its size.
  function largestComponent(mask, w, h) {
    var label = new Int32Array(w * h), stack = new Int32Array(w * h);
    var best = 0, bestN = 0, next = 0;
    for (var i = 0; i < mask.length; i++) {
      if (!mask[i] || label[i] !== 0) continue;
      next++;
      var n = 0, top = 0;
      stack[top++] = i;
      label[i] = next;
      while (top > 0) {
        var j = stack[--top];
        n++;
        var x = j % w, y = (j - x) / w;
        if (x > 0 && mask[j - 1] && !label[j - 1]) { label[j - 1] = next; stack[top++] = j - 1; }
        if (x < w - 1 && mask[j + 1] && !label[j + 1]) { label[j + 1] = next; stack[top++] = j + 1; }
        if (y > 0 && mask[j - w] && !label[j - w]) { label[j - w] = next; stack[top++] = j - w; }
        if (y < h - 1 && mask[j + w] && !label[j + w]) { label[j + w] = next; stack[top++] = j + w; }
      }
      if (n > bestN) { best = next; bestN = n; }
    }
    var out = new Uint8Array(w * h);
    for (var k = 0; k < label.length; k++) out[k] = (best !== 0 && label[k] === best) ? 1 : 0;
    return { comp: out, area: bestN };
  }

  // Erosion (grow false) or dilation (grow true) by a square of radius r.
  function morph(m, w, h, r, grow) {
    function pass(src, dx, dy) {
      var out = new Uint8Array(src.length), want = grow ? 1 : 0;
      for (var y = 0; y < h; y++) {
        for (var x = 0; x < w; x++) {
          var v = grow ? 0 : 1;
          for (var k = -r; k <= r && v !== want; k++) {
            var xx = x + k * dx, yy = y + k * dy;
            if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
            if (src[yy * w + xx] === want) v = want;
          }
          out[y * w + x] = v;
        }
      }
      return out;
    }
    return pass(pass(m, 1, 0), 0, 1);
  }

  function maxAreaQuad(hull) {
    while (hull.length > 120) hull = hull.filter(function (_, i) { return i % 2 === 0; });
    var n = hull.length, best = 0, q = null;
    for (var i = 0; i < n; i++) {
      for (var j = i + 2; j < n; j++) {
        var l = 0, r = 0, li = -1, ri = -1;
        for (var k = 0; k < n; k++) {
          if (k === i || k === j) continue;
          var c = cross(hull[i], hull[j], hull[k]);
          if (c > r) { r = c; ri = k; }
          if (-c > l) { l = -c; li = k; }
        }
        if (li >= 0 && ri >= 0 && l + r > best) {
          best = l + r;
          q = [hull[i], hull[ri], hull[j], hull[li]];
        }
      }
    }
    return best > 0 ? q : null;
  }

  function simplify(p, eps) {
    p = p.slice();
    for (var changed = true; changed && p.length > 4;) {
      changed = false;
      for (var i = 0; i < p.length && p.length > 4; i++) {
        var a = p[(i + p.length - 1) % p.length], b = p[i], c = p[(i + 1) % p.length], L = dist(a, c);
        if (L > 0 && Math.abs(cross(a, c, b)) / L < eps) {
          p.splice(i, 1);
          changed = true;
          i--;
        }
      }
    }
    return p;
  }

  function enclosingQuad(hull) {
    hull = simplify(hull, 1.5);
    var edges = [], n = hull.length;
    for (var i = 0; i < n; i++) {
      var a = hull[i], b = hull[(i + 1) % n], L = dist(a, b);
      if (L < 6) continue;
      edges.push({ p: a, d: { x: (b.x - a.x) / L, y: (b.y - a.y) / L } });
    }
    var m = edges.length;
    if (m < 4 || m > 60) return null;
    var best = Infinity, bq = null;
    for (var e0 = 0; e0 < m; e0++) {
      for (var e1 = e0 + 1; e1 < m; e1++) {
        for (var e2 = e1 + 1; e2 < m; e2++) {
          for (var e3 = e2 + 1; e3 < m; e3++) {
            var ls = [edges[e0], edges[e1], edges[e2], edges[e3]], q = [], ok = true;
            for (var c = 0; c < 4 && ok; c++) {
              var la = ls[(c + 3) % 4], lb = ls[c];
              if (la.d.x * lb.d.y - la.d.y * lb.d.x <= 0.05) { ok = false; break; }
              q[c] = intersect(la, lb);
              ok = q[c] !== null;
            }
            if (!ok) continue;
            var ar = Math.abs(polyArea(q));
            if (ar < best) { best = ar; bq = q; }
          }
        }
      }
    }
    return bq;
  }

  // Moves each side onto the strongest whiteness step along its normals (refineQuad).
  function refineQuad(wp, q) {
    q = orderQuad(q);
    var c = { x: (q[0].x + q[1].x + q[2].x + q[3].x) / 4, y: (q[0].y + q[1].y + q[2].y + q[3].y) / 4 };
    var SEARCH = 6, SAMPLES = 48, lines = [], stepMin = Infinity;
    for (var s = 0; s < 4; s++) {
      var a = q[s], b = q[(s + 1) % 4], L = dist(a, b);
      if (L < 8) return { q: q, step: 0, ok: false };
      var dx = (b.x - a.x) / L, dy = (b.y - a.y) / L, nx = -dy, ny = dx;
      var mid = { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
      if ((c.x - mid.x) * nx + (c.y - mid.y) * ny < 0) { nx = -nx; ny = -ny; }
      var pts = [], steps = [];
      for (var k = 0; k < SAMPLES; k++) {
        var t = 0.1 + 0.8 * k / (SAMPLES - 1);
        var px = a.x + t * (b.x - a.x), py = a.y + t * (b.y - a.y);
        var bestG = 0, bestO = 0;
        for (var i = 0; i <= 4 * SEARCH; i++) {
          var o = -SEARCH + i * 0.5;
          var g = sample(wp, px + (o + 1) * nx, py + (o + 1) * ny) - sample(wp, px + (o - 1) * nx, py + (o - 1) * ny);
          if (g > bestG) { bestG = g; bestO = o; }
        }
        if (bestG <= 0) continue;
        pts.push({ x: px + bestO * nx, y: py + bestO * ny });
        steps.push(bestG);
      }
      if (pts.length < SAMPLES / 3) return { q: q, step: 0, ok: false };
      var l = fitLine(pts);
      var kept = pts.filter(function (p) { return Math.abs((p.x - l.p.x) * l.d.y - (p.y - l.p.y) * l.d.x) < 1.5; });
      if (kept.length >= SAMPLES / 4) l = fitLine(kept);
      lines[s] = l;
      steps.sort(function (x, y) { return x - y; });
      stepMin = Math.min(stepMin, steps[steps.length >> 1]);
    }
    var r = [];
    for (var j = 0; j < 4; j++) {
      var p = intersect(lines[(j + 3) % 4], lines[j]);
      if (!p || dist(p, q[j]) > 3 * SEARCH) return { q: q, step: stepMin, ok: false };
      r[j] = p;
    }
    return { q: r, step: stepMin, ok: true };
  }

  // Refines an outline and scores it (judgeQuad).
  function judgeQuad(wp, q, hullArea, area) {
    var w = wp.w, h = wp.h, qArea = Math.abs(polyArea(q));
    var rq = refineQuad(wp, q);
    if (rq.ok) q = rq.q;
    var quad = orderQuad(q), support = Math.min(rq.step / MIN_EDGE_STEP, 2);
    var fa = Math.abs(polyArea(quad)) / (w * h), conf = 1;
    var ratio = Math.min(qArea / hullArea, hullArea / qArea);
    if (ratio < 0.97) conf = ratio < 0.85 ? 0 : ratio;
    if (area / Math.max(qArea, 1) < 0.55) conf = 0;
    if (!rq.ok || rq.step < MIN_EDGE_STEP) conf = 0;
    if (fa < MIN_SHEET_AREA || fa > MAX_SHEET_AREA) conf = 0;
    for (var i = 0; i < 4; i++) {
      var a = quad[(i + 3) % 4], b = quad[i], c = quad[(i + 1) % 4];
      var v1x = a.x - b.x, v1y = a.y - b.y, v2x = c.x - b.x, v2y = c.y - b.y;
      var cos = (v1x * v2x + v1y * v2y) / (Math.hypot(v1x, v1y) * Math.hypot(v2x, v2y) + 1e-9);
      if (Math.abs(cos) > 0.6) conf = 0;
    }
    return { quad: quad, confidence: conf, support: support };
  }

  // Finds the sheet outline in a candidate paper mask (sheetIn).
  function sheetIn(wp, mask, ring) {
    var w = wp.w, h = wp.h, lc = largestComponent(mask, w, h), comp = lc.comp, x, y;
    var d = { found: false, quad: null, confidence: 0, support: 0, borderTouch: 0, areaFrac: lc.area / (w * h) };
    var touch = 0;
    for (x = 0; x < w; x++) touch += comp[x] + comp[(h - 1) * w + x];
    for (y = 1; y < h - 1; y++) touch += comp[y * w] + comp[y * w + w - 1];
    d.borderTouch = touch / (2 * w + 2 * h - 4);
    if ((!ring && d.areaFrac < MIN_SHEET_AREA) || d.areaFrac > MAX_SHEET_AREA) return d;
    var pts = [];
    for (y = 0; y < h; y++) {
      var first = -1, last = -1;
      for (x = 0; x < w; x++) {
        if (comp[y * w + x]) {
          if (first < 0) first = x;
          last = x;
        }
      }
      if (first >= 0) pts.push({ x: first, y: y + 0.5 }, { x: last + 1, y: y + 0.5 });
    }
    pts.sort(function (a, b) { return a.x !== b.x ? a.x - b.x : a.y - b.y; });
    var hull = convexHull(pts);
    if (hull.length < 4) return d;
    var hullArea = Math.abs(polyArea(hull)), cands = [], bestScore = -1;
    var q1 = maxAreaQuad(hull), q2 = enclosingQuad(hull);
    if (q1) cands.push(q1);
    if (q2) cands.push(q2);
    cands.forEach(function (q) {
      var c = judgeQuad(wp, q, hullArea, ring ? Math.trunc(hullArea) : lc.area);
      if (c.confidence * c.support > bestScore) {
        bestScore = c.confidence * c.support;
        d.quad = c.quad;
        d.confidence = c.confidence;
        d.support = c.support;
      }
    });
    d.found = d.confidence >= 0.9;
    return d;
  }

  // Locates the largest bright, unsaturated, four-sided region (findSheet).
  function findSheet(small) {
    var wp = boxBlur(whiteness(small), 1), lo = Infinity, hi = -Infinity, i;
    for (i = 0; i < wp.p.length; i++) {
      lo = Math.min(lo, wp.p[i]);
      hi = Math.max(hi, wp.p[i]);
    }
    if (hi - lo < 20) return { found: false, confidence: 0, borderTouch: 0 };
    var t = otsu(wp, lo, hi), t2 = otsu(wp, t, hi);
    var f = Math.fround;
    var ths = [t, f(t + f(0.2 * (hi - t))), f(t + f(0.4 * (hi - t))), f(t - f(0.2 * (t - lo))), t2, f(t2 + f(0.25 * (hi - t2))), f(t2 - f(0.25 * (t2 - t)))];
    var best = null, touch = 0, bestScore = -1;
    ths.forEach(function (th, k) {
      var mask = new Uint8Array(wp.p.length);
      for (var j = 0; j < mask.length; j++) mask[j] = wp.p[j] > th ? 1 : 0;
      var d = sheetIn(wp, mask, false);
      if (k === 0) { best = d; touch = d.borderTouch; }
      var score = d.confidence * d.support * Math.sqrt(d.areaFrac);
      if (d.found && score > bestScore) { best = d; bestScore = score; }
    });
    if (bestScore < 0) {
      var bg = boxBlur(wp, Math.max(2, Math.trunc(Math.min(wp.w, wp.h) / 8)));
      [6, 12].forEach(function (delta) {
        var mask = new Uint8Array(wp.p.length);
        for (var j = 0; j < mask.length; j++) mask[j] = wp.p[j] - bg.p[j] > delta ? 1 : 0;
        mask = morph(morph(mask, wp.w, wp.h, 2, false), wp.w, wp.h, 2, true);
        var d = sheetIn(wp, mask, true);
        var score = d.confidence * d.support * Math.sqrt(d.areaFrac);
        if (d.found && score > bestScore) { best = d; bestScore = score; }
      });
    }
    best.borderTouch = touch;
    return best;
  }

  // Box average by an integer factor, the last box taking the remainder (downsample).
  function downsample(img, f) {
    var sw = img.w, sh = img.h, w = Math.max(Math.floor(sw / f), 1), h = Math.max(Math.floor(sh / f), 1);
    var out = new Uint8ClampedArray(w * h * 4), d = img.d;
    for (var v = 0; v < h; v++) {
      var ys = v * f, ye = v === h - 1 ? sh : Math.min(ys + f, sh);
      for (var u = 0; u < w; u++) {
        var xs = u * f, xe = u === w - 1 ? sw : Math.min(xs + f, sw), r = 0, g = 0, b = 0;
        for (var y = ys; y < ye; y++) {
          for (var x = xs; x < xe; x++) {
            var k = 4 * (y * sw + x);
            r += d[k];
            g += d[k + 1];
            b += d[k + 2];
          }
        }
        var n = (ye - ys) * (xe - xs), o = 4 * (v * w + u);
        out[o] = Math.floor((r + (n >> 1)) / n);
        out[o + 1] = Math.floor((g + (n >> 1)) / n);
        out[o + 2] = Math.floor((b + (n >> 1)) / n);
        out[o + 3] = 255;
      }
    }
    return { w: w, h: h, d: out };
  }

  // Brightness of the paper (90th percentile of luma) and share of clipped white on it
  // (sheetStats).
  function sheetStats(small, mask) {
    var hist = new Int32Array(256), n = 0, d = small.d, i, px = small.w * small.h;
    for (i = 0; i < px; i++) {
      if (mask && !mask[i]) continue;
      hist[Math.floor((299 * d[4 * i] + 587 * d[4 * i + 1] + 114 * d[4 * i + 2]) / 1000)]++;
      n++;
    }
    if (n === 0) return { p90: 255, clipped: 0 };
    var acc = 0, median = -1, p90 = 0;
    for (i = 0; i < 256; i++) {
      acc += hist[i];
      if (median < 0 && acc >= Math.floor(n / 2)) median = i;
      if (acc >= Math.floor(n * 9 / 10)) { p90 = i; break; }
    }
    if (median >= 235) return { p90: p90, clipped: 0 };
    var clip = 0;
    for (i = 0; i < px; i++) {
      if (mask && !mask[i]) continue;
      if (d[4 * i] >= 250 && d[4 * i + 1] >= 250 && d[4 * i + 2] >= 250) clip++;
    }
    return { p90: p90, clipped: clip / n };
  }

  function fillQuad(q, w, h) {
    var m = new Uint8Array(w * h);
    for (var y = 0; y < h; y++) {
      for (var x = 0; x < w; x++) {
        var p = { x: x + 0.5, y: y + 0.5 }, inside = true;
        for (var i = 0; i < 4 && inside; i++) inside = cross(q[i], q[(i + 1) % 4], p) >= 0;
        m[y * w + x] = inside ? 1 : 0;
      }
    }
    return m;
  }

  // Grey square of at most size pixels around (cx, cy), at the photo's own resolution
  // (sourceWindow).
  function sourceWindow(img, cx, cy, size) {
    var w = img.w, h = img.h, d = img.d;
    size = Math.min(size, w, h);
    var x0 = Math.min(Math.max(Math.trunc(cx) - (size >> 1), 0), w - size);
    var y0 = Math.min(Math.max(Math.trunc(cy) - (size >> 1), 0), h - size);
    var pl = plane(size, size);
    for (var y = 0; y < size; y++) {
      for (var x = 0; x < size; x++) {
        var k = 4 * ((y0 + y) * w + x0 + x);
        pl.p[y * size + x] = 0.299 * d[k] + 0.587 * d[k + 1] + 0.114 * d[k + 2];
      }
    }
    return pl;
  }

  // Mean steepness of the strongest edges over their contrast (sharpness); NaN on
  // blank paper.
  function sharpness(pl) {
    var w = pl.w, h = pl.h, p = pl.p;
    if (w < 8 || h < 8) return NaN;
    var BINS = 1024, GMAX = 1500, gh = new Int32Array(BINS), lh = new Int32Array(256), n = 0;
    for (var y = 1; y < h - 1; y++) {
      for (var x = 1; x < w - 1; x++) {
        var i = y * w + x;
        var a = p[i - w - 1], b = p[i - w], c = p[i - w + 1], d = p[i - 1], f = p[i + 1];
        var g = p[i + w - 1], hh = p[i + w], ii = p[i + w + 1];
        var gx = (c + 2 * f + ii) - (a + 2 * d + g), gy = (g + 2 * hh + ii) - (a + 2 * b + c);
        gh[Math.min(Math.trunc(Math.sqrt(gx * gx + gy * gy) * BINS / GMAX), BINS - 1)]++;
        lh[Math.min(Math.max(Math.trunc(p[i]), 0), 255)]++;
        n++;
      }
    }
    function pct(hist, q) {
      var acc = 0, lim = Math.trunc(q * n);
      for (var k = 0; k < hist.length; k++) {
        acc += hist[k];
        if (acc > lim) return k;
      }
      return hist.length - 1;
    }
    var g98 = pct(gh, 0.98) * GMAX / BINS, contrast = pct(lh, 0.99) - pct(lh, 0.01);
    if (contrast < 40) return NaN;
    return g98 / (8 * contrast);
  }

  // The output raster of a sheet measured wpx×hpx (outputSize).
  function outputSize(wpx, hpx) {
    var long = Math.max(wpx, hpx), short = Math.min(wpx, hpx), ol, os;
    if (Math.abs(long / short - Math.SQRT2) / Math.SQRT2 < A4_TOLERANCE) {
      ol = Math.min(A4_H, long);
      os = ol / Math.SQRT2;
    } else {
      var s = Math.min(1, Math.min(A4_H / long, A4_W / short));
      ol = long * s;
      os = short * s;
    }
    var w = Math.round(os), h = Math.round(ol);
    return wpx > hpx ? [Math.max(h, 1), Math.max(w, 1)] : [Math.max(w, 1), Math.max(h, 1)];
  }

  // check returns the warnings of one photo, in the order the server gives them:
  // [{code, score}]. img is {w, h, d}: RGBA pixels, the right way up.
  function check(img) {
    var W = img.w, H = img.h, warnings = [];
    function warn(code, score) { warnings.push({ code: code, score: Math.round(score * 1000) / 1000 }); }
    var f = Math.max(1, Math.floor((Math.max(W, H) + DETECT_LONG - 1) / DETECT_LONG));
    var small = f > 1 ? downsample(img, f) : img;
    var kx = W / small.w, ky = H / small.h;
    var det = findSheet(small), mask = null, shortSide, ow, oh, cx, cy;
    if (det.found) {
      var q = det.quad.map(function (p) { return { x: p.x * kx, y: p.y * ky }; });
      var wpx = (dist(q[0], q[1]) + dist(q[3], q[2])) / 2, hpx = (dist(q[0], q[3]) + dist(q[1], q[2])) / 2;
      var size = outputSize(wpx, hpx);
      ow = size[0];
      oh = size[1];
      mask = fillQuad(det.quad, small.w, small.h);
      shortSide = Math.min(wpx, hpx);
      // The centre of the flattened sheet is where the outline's diagonals cross.
      var c = intersect({ p: q[0], d: { x: q[2].x - q[0].x, y: q[2].y - q[0].y } }, { p: q[1], d: { x: q[3].x - q[1].x, y: q[3].y - q[1].y } });
      cx = c ? c.x : W / 2;
      cy = c ? c.y : H / 2;
    } else {
      var s = Math.min(1, Math.min(A4_H / Math.max(W, H), A4_W / Math.min(W, H)));
      ow = Math.max(1, Math.round(W * s));
      oh = Math.max(1, Math.round(H * s));
      cx = ow / 2 / s;
      cy = oh / 2 / s;
      shortSide = Math.min(W, H);
      if (det.borderTouch < 0.5) warn('no_sheet', det.confidence);
    }
    var stats = sheetStats(small, mask);
    var win = Math.trunc(Math.max(256, Math.min(768, 0.6 * shortSide)));
    var sharp = sharpness(sourceWindow(img, cx, cy, win)) * Math.max(1, shortSide / Math.min(ow, oh));
    if (det.borderTouch > CUT_OFF) warn('cut_off', det.borderTouch);
    if (!isNaN(sharp) && sharp < BLUR) warn('blurry', sharp);
    if (stats.p90 < DARK) warn('dark', stats.p90);
    if (stats.clipped > GLARE) warn('glare', stats.clipped);
    if (shortSide < LOW_RES) warn('low_resolution', shortSide);
    return warnings;
  }

  // checkBlob decodes a photo as it will be sent and checks it. It resolves to null when
  // the browser cannot read the file (a PDF, a HEIC photo): the server checks it then.
  function checkBlob(blob) {
    if (!/^image\/(jpeg|png|webp)$/.test(blob.type) || !window.createImageBitmap) return Promise.resolve(null);
    return createImageBitmap(blob, { imageOrientation: 'from-image' }).then(function (bmp) {
      var c = document.createElement('canvas');
      c.width = bmp.width;
      c.height = bmp.height;
      var ctx = c.getContext('2d', { willReadFrequently: true });
      ctx.drawImage(bmp, 0, 0);
      if (bmp.close) bmp.close();
      var data = ctx.getImageData(0, 0, c.width, c.height).data;
      return check({ w: c.width, h: c.height, d: data });
    }).catch(function () { return null; });
  }

  return { check: check, checkBlob: checkBlob };
})();
