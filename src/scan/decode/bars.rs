//! Where a frame may hold a one-dimensional barcode, and at which angle
//! (issue 24), for [`super::barcode`]: a structure tensor over square
//! blocks. A barcode is many parallel edges: a block over one has strong
//! gradients nearly all along one direction, and so have its neighbours;
//! text, pictures and packaging have edges every way or few of them.
//!
//! The product-barcode decoder reads every line of a direction ("try
//! harder") only where such blocks are, at that direction's angle, and
//! nothing at all in a frame without any: a camera frame with no code in
//! it (most frames) then costs a few middle lines, not every line.

/// Which way the scan lines run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Rows: bars upright in the frame.
    Rows,
    /// Columns: the code turned 90°.
    Columns,
    /// Down-right diagonals (x and y growing together): the code turned
    /// about 45°, which rows and columns cross only when its bars are tall.
    Diagonal,
    /// Up-right diagonals: the code turned about -45°.
    AntiDiagonal,
}

/// Side of the square blocks [`BarMap`] measures (pixels).
pub const BLOCK: usize = 16;

/// Where a frame has bar-like structure, and at which angle: lines of
/// each [`Direction`] that cross a block of parallel edges (a structure
/// tensor over [`BLOCK`]-pixel blocks: strong gradients, mostly along one
/// direction; text and pictures have edges every way). The passes that
/// read every line read only these; a frame with none holds no code.
pub struct BarMap {
    /// Per direction (rows, columns, diagonal, anti-diagonal), per line.
    lines: [Vec<bool>; 4],
    /// Per direction, the bar-like blocks at its angle.
    blocks: [usize; 4],
    /// Whether any block is bar-like.
    pub any: bool,
}

/// Mean squared gradient a block needs (about 8 grey levels per pixel).
const MIN_ENERGY: u64 = 64;
/// Coherence (0: edges every way, 1: all parallel) a block needs.
const MIN_COHERENCE: f64 = 0.5;
/// Neighbouring bar-like blocks (of 8) at about the same angle a block
/// needs.
const MIN_ALIKE: usize = 2;
/// How far (degrees) neighbouring blocks' edges may turn and still count
/// as one code's.
const NEIGHBOUR_TURN: f64 = 20.0;

impl BarMap {
    /// The map of a `width` x `height` luma image.
    pub fn of(data: &[u8], w: usize, h: usize) -> Self {
        let mut lines = [
            vec![false; h],
            vec![false; w],
            vec![false; w + h],
            vec![false; w + h],
        ];
        let mut any = false;
        let mut blocks = [0; 4];
        if w < 2 || h < 2 {
            return Self { lines, blocks, any };
        }
        let (bw, bh) = ((w - 1).div_ceil(BLOCK), (h - 1).div_ceil(BLOCK));
        // Per block: the gradient's angle (degrees, 0 along x, 90 down)
        // when the block is bar-like.
        let mut angles: Vec<Option<f64>> = vec![None; bw * bh];
        for (j, by) in (0..h - 1).step_by(BLOCK).enumerate() {
            for (i, bx) in (0..w - 1).step_by(BLOCK).enumerate() {
                let (ey, ex) = ((by + BLOCK).min(h - 1), (bx + BLOCK).min(w - 1));
                let (mut jxx, mut jyy, mut jxy) = (0i64, 0i64, 0i64);
                for y in by..ey {
                    let row = &data[y * w..];
                    let below = &data[(y + 1) * w..];
                    for x in bx..ex {
                        let p = i64::from(row[x]);
                        let gx = i64::from(row[x + 1]) - p;
                        let gy = i64::from(below[x]) - p;
                        jxx += gx * gx;
                        jyy += gy * gy;
                        jxy += gx * gy;
                    }
                }
                let n = ((ey - by) * (ex - bx)) as i64;
                let energy = jxx + jyy;
                if n == 0 || (energy as u64) < MIN_ENERGY * n as u64 {
                    continue;
                }
                let (d, c) = ((jxx - jyy) as f64, 2.0 * jxy as f64);
                if (d * d + c * c).sqrt() < MIN_COHERENCE * energy as f64 {
                    continue;
                }
                angles[j * bw + i] = Some(0.5 * c.atan2(d).to_degrees());
            }
        }
        let turn = |a: f64, b: f64| {
            let diff = (a - b).rem_euclid(180.0);
            diff.min(180.0 - diff)
        };
        for j in 0..bh {
            for i in 0..bw {
                let Some(angle) = angles[j * bw + i] else {
                    continue;
                };
                // A code spans several blocks: a lone parallel block is an
                // edge in a picture or a stroke of text.
                let mut alike = 0;
                for (dj, di) in [
                    (-1, -1),
                    (-1, 0),
                    (-1, 1),
                    (0, -1),
                    (0, 1),
                    (1, -1),
                    (1, 0),
                    (1, 1),
                ] {
                    let (nj, ni) = (j as isize + dj, i as isize + di);
                    if nj < 0 || ni < 0 || nj >= bh as isize || ni >= bw as isize {
                        continue;
                    }
                    if let Some(a) = angles[nj as usize * bw + ni as usize]
                        && turn(a, angle) <= NEIGHBOUR_TURN
                    {
                        alike += 1;
                    }
                }
                if alike < MIN_ALIKE {
                    continue;
                }
                any = true;
                let (bx, by) = (i * BLOCK, j * BLOCK);
                let (x0, x1, y0, y1) = (bx, (bx + BLOCK + 1).min(w), by, (by + BLOCK + 1).min(h));
                let near = |a: f64| turn(angle, a) <= ANGLE_SLACK;
                if near(0.0) {
                    blocks[0] += 1;
                    lines[0][y0..y1].fill(true);
                }
                if near(90.0) {
                    blocks[1] += 1;
                    lines[1][x0..x1].fill(true);
                }
                if near(45.0) {
                    blocks[2] += 1;
                    // y - x + w - 1 over the block.
                    let (a, b) = (y0 + w - x1, y1 + w - 1 - x0);
                    lines[2][a..b.min(w + h)].fill(true);
                }
                if near(-45.0) {
                    blocks[3] += 1;
                    lines[3][x0 + y0..(x1 + y1 - 1).min(w + h)].fill(true);
                }
            }
        }
        Self { lines, blocks, any }
    }

    /// Whether lines in `direction` are worth reading one by one: some
    /// bar-like blocks at its angle, and not far fewer than at the
    /// frame's main angle (text and pictures scatter a few blocks every
    /// way; a code's blocks share one angle).
    pub fn worth(&self, direction: Direction) -> bool {
        let most = self.blocks.iter().copied().max().unwrap_or(0);
        let here = self.blocks[Self::index(direction)];
        here > 0 && here * MAIN_ANGLE_SHARE >= most
    }

    fn index(direction: Direction) -> usize {
        match direction {
            Direction::Rows => 0,
            Direction::Columns => 1,
            Direction::Diagonal => 2,
            Direction::AntiDiagonal => 3,
        }
    }

    /// Whether line `line` of `direction` (rows: y; columns: x;
    /// diagonals: y - x + width - 1; anti-diagonals: x + y) crosses a
    /// bar-like block at that direction's angle.
    pub fn has(&self, direction: Direction, line: usize) -> bool {
        self.lines[Self::index(direction)]
            .get(line)
            .copied()
            .unwrap_or(false)
    }
}

/// How far (degrees) a block's edges may turn from a direction's right
/// angle for its lines to be read there.
const ANGLE_SLACK: f64 = 30.0;

/// A direction is read line by line only with at least 1/this of the
/// bar-like blocks of the frame's main angle.
const MAIN_ANGLE_SHARE: usize = 4;
