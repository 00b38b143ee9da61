"""A small RFB (VNC) client for hostel's display tests: the handshake
(security None or VNC authentication), raw and DesktopSize encodings, key
and pointer events, and reading VGA text back from the pixels with the 8x16
font of SeaBIOS's VGA BIOS (the font hostel draws text mode with)."""
import socket
import struct
import time

ENC_RAW = 0
ENC_DESKTOP_SIZE = -223


def _recv(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("the VNC server closed the connection")
        buf += chunk
    return buf


def _vnc_des_response(password, challenge):
    # VNC authentication: DES of the challenge with the password (8 bytes,
    # each byte's bits reversed) as the key.  python3-cryptography does DES
    # as TripleDES with three equal keys.
    import warnings
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    warnings.simplefilter("ignore")    # newer releases call TripleDES "decrepit"
    key = bytes(int("{:08b}".format(b)[::-1], 2) for b in password.encode()[:8].ljust(8, b"\0"))
    enc = Cipher(algorithms.TripleDES(key * 3), modes.ECB()).encryptor()
    return enc.update(challenge) + enc.finalize()


class Client:
    def __init__(self, host, port, password=None, timeout=30):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        version = _recv(self.sock, 12)
        if not version.startswith(b"RFB 003."):
            raise ValueError("not an RFB server: %r" % version)
        self.sock.sendall(b"RFB 003.008\n")
        n = _recv(self.sock, 1)[0]
        if n == 0:
            reason_len = struct.unpack(">I", _recv(self.sock, 4))[0]
            raise ValueError("server refused: %s" % _recv(self.sock, reason_len).decode())
        types = list(_recv(self.sock, n))
        self.security_types = types
        if password is None:
            if 1 not in types:
                raise PermissionError("server wants authentication (types %s)" % types)
            self.sock.sendall(bytes([1]))
        else:
            if 2 not in types:
                raise ValueError("server offers no VNC authentication (types %s)" % types)
            self.sock.sendall(bytes([2]))
            challenge = _recv(self.sock, 16)
            self.sock.sendall(_vnc_des_response(password, challenge))
        result = struct.unpack(">I", _recv(self.sock, 4))[0]
        if result != 0:
            raise PermissionError("authentication failed")
        self.sock.sendall(bytes([1]))           # shared
        w, h = struct.unpack(">HH", _recv(self.sock, 4))
        _recv(self.sock, 16)                    # the server's pixel format
        name_len = struct.unpack(">I", _recv(self.sock, 4))[0]
        self.name = _recv(self.sock, name_len).decode(errors="replace")
        self.width, self.height = w, h
        self.pixels = [0] * (w * h)
        # 32 bits, little-endian 0x00RRGGBB.
        self.sock.sendall(struct.pack(">B3xBBBBHHHBBB3x", 0, 32, 24, 0, 1, 255, 255, 255,
                                      16, 8, 0))
        self.sock.sendall(struct.pack(">BxHii", 2, 2, ENC_RAW, ENC_DESKTOP_SIZE))

    def close(self):
        self.sock.close()

    def request(self, incremental=False):
        self.sock.sendall(struct.pack(">BBHHHH", 3, 1 if incremental else 0, 0, 0,
                                      self.width, self.height))

    def read_update(self):
        """Reads messages up to and including one framebuffer update;
        returns the rectangles it held as (x, y, w, h)."""
        while True:
            kind = _recv(self.sock, 1)[0]
            if kind == 0:
                _recv(self.sock, 1)
                n = struct.unpack(">H", _recv(self.sock, 2))[0]
                rects = []
                for _ in range(n):
                    x, y, w, h, enc = struct.unpack(">HHHHi", _recv(self.sock, 12))
                    if enc == ENC_DESKTOP_SIZE:
                        self.width, self.height = w, h
                        self.pixels = [0] * (w * h)
                    elif enc == ENC_RAW:
                        data = _recv(self.sock, w * h * 4)
                        vals = struct.unpack("<%dI" % (w * h), data)
                        for row in range(h):
                            base = (y + row) * self.width + x
                            self.pixels[base:base + w] = vals[row * w:(row + 1) * w]
                    else:
                        raise ValueError("unexpected encoding %d" % enc)
                    rects.append((x, y, w, h))
                return rects
            elif kind == 1:                     # colour map entries
                _recv(self.sock, 1)
                _, n = struct.unpack(">HH", _recv(self.sock, 4))
                _recv(self.sock, 6 * n)
            elif kind == 2:                     # bell
                pass
            elif kind == 3:                     # cut text
                _recv(self.sock, 3)
                n = struct.unpack(">I", _recv(self.sock, 4))[0]
                _recv(self.sock, n)
            else:
                raise ValueError("unexpected server message %d" % kind)

    def refresh(self):
        """The whole screen as it is now."""
        self.request(False)
        self.read_update()

    def wait_for(self, predicate, timeout=30):
        """Keeps asking for updates until predicate(self) holds."""
        deadline = time.time() + timeout
        self.refresh()
        while not predicate(self):
            if time.time() > deadline:
                return False
            self.request(True)
            self.sock.settimeout(max(0.1, deadline - time.time()))
            try:
                self.read_update()
            except socket.timeout:
                return predicate(self)
        return True

    def key(self, keysym, down=True):
        self.sock.sendall(struct.pack(">BBxxI", 4, 1 if down else 0, keysym))

    def type_key(self, keysym):
        self.key(keysym, True)
        self.key(keysym, False)

    def type_text(self, text, pause=0.02):
        """Types text as a viewer on a US keyboard does: Shift held around
        the characters that need it, Return for a newline."""
        shifted = set('~!@#$%^&*()_+{}|:"<>?ABCDEFGHIJKLMNOPQRSTUVWXYZ')
        for ch in text:
            sym = 0xff0d if ch in "\r\n" else ord(ch)
            if ch in shifted:
                self.key(0xffe1, True)
            self.type_key(sym)
            if ch in shifted:
                self.key(0xffe1, False)
            time.sleep(pause)

    def pointer(self, x, y, buttons=0):
        self.sock.sendall(struct.pack(">BBHH", 5, buttons, x, y))

    def pixel(self, x, y):
        return self.pixels[y * self.width + x]


def save_png(client, path):
    """The screen as a PNG file (for docs and failed tests)."""
    import zlib
    w, h = client.width, client.height
    raw = bytearray()
    for y in range(h):
        raw.append(0)
        for p in client.pixels[y * w:(y + 1) * w]:
            raw += bytes(((p >> 16) & 255, (p >> 8) & 255, p & 255))

    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b""))


def load_font(rom="/usr/share/seabios/vgabios-stdvga.bin"):
    """The VGA BIOS's 8x16 font: {glyph bytes: character code}."""
    data = open(rom, "rb").read()
    glyph_a = bytes([0, 0, 0x10, 0x38, 0x6c, 0xc6, 0xc6, 0xfe, 0xc6, 0xc6, 0xc6, 0xc6,
                     0, 0, 0, 0])
    i = data.find(glyph_a)
    if i < 0:
        raise ValueError("no 8x16 font in %s" % rom)
    base = i - 0x41 * 16
    glyphs = {}
    for c in range(256):
        g = data[base + c * 16:base + c * 16 + 16]
        glyphs.setdefault(g, c)
    return glyphs


def read_text(client, glyphs, cols=80, rows=25, cell_h=16):
    """The text on the screen, one string a row: each 8x16 cell matched to
    a glyph (its top-left pixel taken as the background); '?' when none."""
    lines = []
    for r in range(rows):
        line = ""
        for c in range(cols):
            x0, y0 = c * 8, r * cell_h
            if x0 + 8 > client.width or y0 + cell_h > client.height:
                line += " "
                continue
            bg = client.pixel(x0, y0)
            g = bytearray(16)
            for y in range(min(cell_h, 16)):
                bits = 0
                for x in range(8):
                    if client.pixel(x0 + x, y0 + y) != bg:
                        bits |= 0x80 >> x
                g[y] = bits
            ch = glyphs.get(bytes(g))
            if ch is None:
                line += "?"
            else:
                line += " " if ch in (0, 0x20, 0xff) else chr(ch) if 32 < ch < 127 else "."
        lines.append(line)
    return lines
