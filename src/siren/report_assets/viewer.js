/* siren mesh viewer: <canvas class="mesh-view" data-mesh="ID"> draws the mesh stored as JSON in the
   application/json script element with that id: {"vertices": [x, y, z, ...], "faces": [i, j, k, ...], "closed": bool}
   (vertices centred, inside the unit sphere; this file is inlined in a script element, so it never spells its end tag). Flat Lambert shading, painter's sort (far faces first), back faces
   culled when the mesh is closed; turns slowly, drag to rotate, wheel to zoom, double-click to reset. */
(function () {
  "use strict";
  var BASE = [92, 132, 186], BACK = [186, 120, 92], LIGHT = normalize([0.35, 0.55, 1.0]), CAMERA = 3.2;

  function normalize(v) {
    var n = Math.hypot(v[0], v[1], v[2]) || 1;
    return [v[0] / n, v[1] / n, v[2] / n];
  }

  function shades(rgb) {  // 256 fill styles from dark to full colour
    var out = [];
    for (var i = 0; i < 256; i++) {
      var s = i / 255;
      out.push("rgb(" + Math.round(rgb[0] * s) + "," + Math.round(rgb[1] * s) + "," + Math.round(rgb[2] * s) + ")");
    }
    return out;
  }

  function viewer(canvas) {
    var data = JSON.parse(document.getElementById(canvas.dataset.mesh).textContent);
    var V = Float32Array.from(data.vertices), F = Uint32Array.from(data.faces), closed = !!data.closed;
    var nv = V.length / 3, nf = F.length / 3;
    var N = new Float32Array(nf * 3), P = new Float32Array(nv * 3), depth = new Float32Array(nf);
    var order = [], front = shades(BASE), back = shades(BACK);
    for (var f = 0; f < nf; f++) {
      var a = 3 * F[3 * f], b = 3 * F[3 * f + 1], c = 3 * F[3 * f + 2];
      var ux = V[b] - V[a], uy = V[b + 1] - V[a + 1], uz = V[b + 2] - V[a + 2];
      var vx = V[c] - V[a], vy = V[c + 1] - V[a + 1], vz = V[c + 2] - V[a + 2];
      var n = normalize([uy * vz - uz * vy, uz * vx - ux * vz, ux * vy - uy * vx]);
      N[3 * f] = n[0]; N[3 * f + 1] = n[1]; N[3 * f + 2] = n[2];
    }
    var ctx = canvas.getContext("2d");
    var yaw = 0.6, pitch = 0.35, zoom = 1, drag = null, idleSince = -1e9, last = null, visible = true, running = false;

    function draw() {
      var dpr = window.devicePixelRatio || 1;
      var w = Math.max(1, Math.round(canvas.clientWidth * dpr)), h = Math.max(1, Math.round(canvas.clientHeight * dpr));
      if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
      ctx.fillStyle = "#eef1f5";
      ctx.fillRect(0, 0, w, h);
      var cy = Math.cos(yaw), sy = Math.sin(yaw), cp = Math.cos(pitch), sp = Math.sin(pitch);
      // R = Rx(pitch) * Ry(yaw), rows:
      var r00 = cy, r01 = 0, r02 = sy, r10 = sp * sy, r11 = cp, r12 = -sp * cy, r20 = -cp * sy, r21 = sp, r22 = cp * cy;
      var scale = 0.42 * Math.min(w, h) * zoom * (CAMERA - 1);
      for (var i = 0; i < nv; i++) {
        var x = V[3 * i], y = V[3 * i + 1], z = V[3 * i + 2];
        var X = r00 * x + r01 * y + r02 * z, Y = r10 * x + r11 * y + r12 * z, Z = r20 * x + r21 * y + r22 * z;
        var s = scale / (CAMERA - Z);
        P[3 * i] = w / 2 + X * s; P[3 * i + 1] = h / 2 - Y * s; P[3 * i + 2] = Z;
      }
      order.length = 0;
      for (var f = 0; f < nf; f++) {
        var a = 3 * F[3 * f], b = 3 * F[3 * f + 1], c = 3 * F[3 * f + 2];
        var area = (P[b] - P[a]) * (P[c + 1] - P[a + 1]) - (P[c] - P[a]) * (P[b + 1] - P[a + 1]);
        if (closed && area >= 0) continue;  // screen y points down: counter-clockwise (front) faces have area < 0
        depth[f] = P[a + 2] + P[b + 2] + P[c + 2];
        order.push(f);
      }
      order.sort(function (p, q) { return depth[p] - depth[q]; });
      ctx.lineWidth = 0.6 * dpr;
      ctx.lineJoin = "round";
      for (var k = 0; k < order.length; k++) {
        var f = order[k], a = 3 * F[3 * f], b = 3 * F[3 * f + 1], c = 3 * F[3 * f + 2];
        var nx = N[3 * f], ny = N[3 * f + 1], nz = N[3 * f + 2];
        var lz = (r20 * nx + r21 * ny + r22 * nz) * LIGHT[2] + (r00 * nx + r01 * ny + r02 * nz) * LIGHT[0] +
                 (r10 * nx + r11 * ny + r12 * nz) * LIGHT[1];
        var area = (P[b] - P[a]) * (P[c + 1] - P[a + 1]) - (P[c] - P[a]) * (P[b + 1] - P[a + 1]);
        var facing = area < 0, lambert = facing ? lz : -lz;
        var style = (facing ? front : back)[Math.round(255 * (0.28 + 0.72 * Math.max(0, lambert)))];
        ctx.fillStyle = style;
        ctx.strokeStyle = style;  // a hairline of the same colour hides the seams between triangles
        ctx.beginPath();
        ctx.moveTo(P[a], P[a + 1]); ctx.lineTo(P[b], P[b + 1]); ctx.lineTo(P[c], P[c + 1]);
        ctx.closePath();
        ctx.fill();
        ctx.stroke();
      }
    }

    function frame(t) {
      if (last !== null && !drag && t - idleSince > 2500) yaw += (t - last) * 0.00035;
      last = t;
      draw();
      running = visible;
      if (running) requestAnimationFrame(frame); else last = null;
    }

    function start() {
      if (!running) { running = true; requestAnimationFrame(frame); }
    }

    canvas.addEventListener("pointerdown", function (e) {
      drag = [e.clientX, e.clientY];
      canvas.setPointerCapture(e.pointerId);
    });
    canvas.addEventListener("pointermove", function (e) {
      if (!drag) return;
      yaw += (e.clientX - drag[0]) * 0.01;
      pitch = Math.max(-1.5, Math.min(1.5, pitch + (e.clientY - drag[1]) * 0.01));
      drag = [e.clientX, e.clientY];
      if (!visible) draw();
    });
    function release() { drag = null; idleSince = performance.now(); }
    canvas.addEventListener("pointerup", release);
    canvas.addEventListener("pointercancel", release);
    canvas.addEventListener("wheel", function (e) {
      e.preventDefault();
      zoom = Math.max(0.3, Math.min(6, zoom * Math.exp(-e.deltaY * 0.0015)));
      if (!visible) draw();
    }, { passive: false });
    canvas.addEventListener("dblclick", function () { yaw = 0.6; pitch = 0.35; zoom = 1; });

    draw();
    new IntersectionObserver(function (entries) {
      visible = entries[entries.length - 1].isIntersecting;
      if (visible) start();
    }).observe(canvas);
    start();
  }

  document.querySelectorAll("canvas.mesh-view").forEach(viewer);
})();
