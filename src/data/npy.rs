//! A bounded reader and writer for NumPy `.npy` arrays of little-endian float32 / float16.
//!
//! Only what the project's vector files use: C order, `<f4` or `<f2`, any rank. The reader
//! works on bytes (no file paths, so the browser can use it) and checks every length before it
//! reads, so a truncated or hostile file is an error, never a panic or a huge allocation.

use half::f16;

const MAGIC: &[u8] = b"\x93NUMPY";
/// NumPy itself caps headers far below this.
const MAX_HEADER_LEN: usize = 64 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DType {
    F32,
    F16,
}

impl DType {
    fn descr(self) -> &'static str {
        match self {
            DType::F32 => "<f4",
            DType::F16 => "<f2",
        }
    }

    fn size(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F16 => 2,
        }
    }
}

/// A decoded array, widened to f32.
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    pub shape: Vec<usize>,
    pub dtype: DType,
    pub data: Vec<f32>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NpyError {
    #[error("not a .npy file (missing the \\x93NUMPY magic)")]
    BadMagic,
    #[error("unsupported .npy format version {0}.{1}")]
    Version(u8, u8),
    #[error("truncated .npy file: {0}")]
    Truncated(String),
    #[error("malformed .npy header: {0}")]
    Header(String),
    #[error("unsupported dtype {0} (only little-endian float32 '<f4' and float16 '<f2')")]
    DType(String),
    #[error("Fortran-ordered arrays are not supported; save with np.ascontiguousarray")]
    FortranOrder,
    #[error(".npy data is {actual} bytes but shape {shape:?} needs {expected}")]
    Length {
        shape: Vec<usize>,
        expected: usize,
        actual: usize,
    },
}

/// Parses a whole `.npy` file.
pub fn read(bytes: &[u8]) -> Result<Array, NpyError> {
    if !bytes.starts_with(MAGIC) {
        return Err(NpyError::BadMagic);
    }
    if bytes.len() < 10 {
        return Err(NpyError::Truncated(
            "shorter than the fixed preamble".into(),
        ));
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (header_len, header_start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            let b = bytes
                .get(8..12)
                .ok_or_else(|| NpyError::Truncated("header length".into()))?;
            (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 12)
        }
        _ => return Err(NpyError::Version(major, minor)),
    };
    if header_len > MAX_HEADER_LEN {
        return Err(NpyError::Header(format!(
            "header of {header_len} bytes is too long"
        )));
    }
    let header = bytes
        .get(header_start..header_start + header_len)
        .ok_or_else(|| NpyError::Truncated(format!("header of {header_len} bytes")))?;
    let header = std::str::from_utf8(header).map_err(|_| NpyError::Header("not UTF-8".into()))?;
    let (dtype, fortran, shape) = parse_header(header)?;
    if fortran {
        return Err(NpyError::FortranOrder);
    }
    let count = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| NpyError::Header(format!("shape {shape:?} overflows")))?;
    let expected = count
        .checked_mul(dtype.size())
        .ok_or_else(|| NpyError::Header(format!("shape {shape:?} overflows")))?;
    let payload = &bytes[header_start + header_len..];
    if payload.len() != expected {
        return Err(NpyError::Length {
            shape,
            expected,
            actual: payload.len(),
        });
    }
    let data = match dtype {
        DType::F32 => payload
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        DType::F16 => payload
            .chunks_exact(2)
            .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
    };
    Ok(Array { shape, dtype, data })
}

/// Reads the Python-dict header: `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`.
fn parse_header(h: &str) -> Result<(DType, bool, Vec<usize>), NpyError> {
    let value_of = |key: &str| -> Result<&str, NpyError> {
        let pat = format!("'{key}':");
        let at = h
            .find(&pat)
            .ok_or_else(|| NpyError::Header(format!("no '{key}' entry")))?;
        Ok(h[at + pat.len()..].trim_start())
    };
    let descr = value_of("descr")?;
    let descr = descr
        .strip_prefix('\'')
        .and_then(|d| d.split('\'').next())
        .ok_or_else(|| NpyError::Header("'descr' is not a string".into()))?;
    let dtype = match descr {
        "<f4" => DType::F32,
        "<f2" => DType::F16,
        other => return Err(NpyError::DType(other.chars().take(16).collect())),
    };
    let fortran = value_of("fortran_order")?;
    let fortran = if fortran.starts_with("False") {
        false
    } else if fortran.starts_with("True") {
        true
    } else {
        return Err(NpyError::Header(
            "'fortran_order' is not True or False".into(),
        ));
    };
    let shape = value_of("shape")?;
    let inner = shape
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| NpyError::Header("'shape' is not a tuple".into()))?;
    let mut dims = Vec::new();
    for part in inner.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if dims.len() == 8 {
            return Err(NpyError::Header("more than 8 dimensions".into()));
        }
        dims.push(part.trim_end_matches('L').parse::<usize>().map_err(|_| {
            NpyError::Header(format!(
                "bad dimension '{}'",
                part.chars().take(24).collect::<String>()
            ))
        })?);
    }
    Ok((dtype, fortran, dims))
}

/// Writes a version-1.0 `.npy` file of `data` (row-major, `shape`), stored as `dtype`.
pub fn write(shape: &[usize], data: &[f32], dtype: DType) -> Vec<u8> {
    assert_eq!(
        shape.iter().product::<usize>(),
        data.len(),
        "shape/data mismatch"
    );
    let dims = match shape {
        [d] => format!("({d},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {dims}, }}",
        dtype.descr()
    );
    // Pad with spaces so the data starts on a 64-byte boundary, ending in '\n', like NumPy.
    let total = MAGIC.len() + 4 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len() * dtype.size());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    match dtype {
        DType::F32 => data
            .iter()
            .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        DType::F16 => data
            .iter()
            .for_each(|x| out.extend_from_slice(&f16::from_f32(*x).to_le_bytes())),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_f32_and_f16() {
        let data: Vec<f32> = (0..24).map(|i| i as f32 * 0.25 - 3.0).collect();
        for dtype in [DType::F32, DType::F16] {
            let bytes = write(&[2, 3, 4], &data, dtype);
            assert_eq!((bytes.len() - data.len() * dtype.size()) % 64, 0);
            let a = read(&bytes).unwrap();
            assert_eq!(a.shape, vec![2, 3, 4]);
            assert_eq!(a.dtype, dtype);
            assert_eq!(a.data, data); // all exactly representable in f16
        }
        assert_eq!(
            read(&write(&[5], &[1.0; 5], DType::F32)).unwrap().shape,
            vec![5]
        );
    }

    #[test]
    fn reads_numpy_written_header() {
        // Header bytes exactly as numpy 1.x writes np.zeros((2, 2), np.float32).
        let mut bytes =
            b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }"
                .to_vec();
        bytes.resize(10 + 0x76 - 1, b' ');
        bytes.push(b'\n');
        bytes.extend_from_slice(&[0u8; 16]);
        let a = read(&bytes).unwrap();
        assert_eq!(a.shape, vec![2, 2]);
        assert_eq!(a.data, vec![0.0; 4]);
    }

    #[test]
    fn corrupt_files_are_errors() {
        let good = write(&[4, 3], &[0.5; 12], DType::F32);
        assert_eq!(read(b"hello"), Err(NpyError::BadMagic));
        assert_eq!(read(b"PK\x03\x04 not npy at all"), Err(NpyError::BadMagic));
        assert!(matches!(
            read(&good[..good.len() - 1]),
            Err(NpyError::Length {
                expected: 48,
                actual: 47,
                ..
            })
        ));
        assert!(matches!(read(&good[..20]), Err(NpyError::Truncated(_))));
        // Edit the header in place (the magic byte 0x93 is not UTF-8, so work on bytes).
        let edit = |from: &str, to: &str| -> Vec<u8> {
            let at = good
                .windows(from.len())
                .position(|w| w == from.as_bytes())
                .unwrap();
            [&good[..at], to.as_bytes(), &good[at + from.len()..]].concat()
        };
        assert!(matches!(read(&edit("<f4", "<i4")), Err(NpyError::DType(_))));
        assert_eq!(read(&edit("False", "True ")), Err(NpyError::FortranOrder));
        assert!(matches!(
            read(&edit("(4, 3)", "(9999999999999, 99999999999)")),
            Err(NpyError::Header(_))
        ));
    }

    #[test]
    fn fuzz_never_panics() {
        let good = write(&[3, 2], &[1.0; 6], DType::F16);
        let mut rng = crate::base::rng::Rng::new(11);
        for _ in 0..20_000 {
            let mut b = good.clone();
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(b.len());
                b[i] = rng.next_u64() as u8;
            }
            b.truncate(rng.below(b.len() + 1));
            let _ = read(&b);
        }
    }
}
