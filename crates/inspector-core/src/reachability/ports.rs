//! Port-interval sets: sorted, disjoint, merged inclusive ranges over `0..=65535`.

use serde::Serialize;

/// A set of ports kept as sorted, disjoint, non-adjacent inclusive ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
pub struct PortSet {
    ranges: Vec<(u16, u16)>,
}

impl PortSet {
    /// The empty set.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Every port, `0..=65535`.
    pub fn all() -> Self {
        Self::range(0, u16::MAX)
    }

    /// The inclusive range `begin..=end` (empty when `begin > end`).
    pub fn range(begin: u16, end: u16) -> Self {
        if begin > end {
            return Self::empty();
        }
        Self {
            ranges: vec![(begin, end)],
        }
    }

    /// Builds a set from arbitrary (possibly overlapping or reversed-empty) ranges.
    pub fn from_ranges<I: IntoIterator<Item = (u16, u16)>>(iter: I) -> Self {
        let mut v: Vec<(u16, u16)> = iter.into_iter().filter(|(b, e)| b <= e).collect();
        v.sort_unstable();
        let mut out: Vec<(u16, u16)> = Vec::with_capacity(v.len());
        for (b, e) in v {
            match out.last_mut() {
                Some(last) if u32::from(b) <= u32::from(last.1) + 1 => {
                    last.1 = last.1.max(e);
                }
                _ => out.push((b, e)),
            }
        }
        Self { ranges: out }
    }

    /// The ranges, sorted and disjoint.
    pub fn ranges(&self) -> &[(u16, u16)] {
        &self.ranges
    }

    /// True when the set holds no port.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// True when `port` is in the set.
    pub fn contains(&self, port: u16) -> bool {
        let idx = self.ranges.partition_point(|&(_, e)| e < port);
        self.ranges.get(idx).is_some_and(|&(b, _)| b <= port)
    }

    /// Union with another set.
    pub fn union(&self, other: &Self) -> Self {
        Self::from_ranges(self.ranges.iter().chain(other.ranges.iter()).copied())
    }

    /// Adds every port of `other` to `self`.
    pub fn union_with(&mut self, other: &Self) {
        if other.is_empty() {
            return;
        }
        if self.is_empty() {
            self.ranges.clone_from(&other.ranges);
            return;
        }
        *self = self.union(other);
    }

    /// Intersection with another set.
    pub fn intersect(&self, other: &Self) -> Self {
        let mut out = Vec::new();
        let (mut i, mut j) = (0, 0);
        while let (Some(&(ab, ae)), Some(&(bb, be))) = (self.ranges.get(i), other.ranges.get(j)) {
            let b = ab.max(bb);
            let e = ae.min(be);
            if b <= e {
                out.push((b, e));
            }
            if ae < be {
                i += 1;
            } else {
                j += 1;
            }
        }
        Self { ranges: out }
    }

    /// The ports of `self` that are not in `other`.
    pub fn subtract(&self, other: &Self) -> Self {
        let mut out = Vec::new();
        for &(b, e) in &self.ranges {
            let mut cur = u32::from(b);
            let end = u32::from(e);
            for &(ob, oe) in &other.ranges {
                let (ob, oe) = (u32::from(ob), u32::from(oe));
                if oe < cur || ob > end {
                    continue;
                }
                if ob > cur {
                    out.push((cur, ob - 1));
                }
                cur = oe + 1;
                if cur > end {
                    break;
                }
            }
            if cur <= end {
                out.push((cur, end));
            }
        }
        Self {
            ranges: out
                .into_iter()
                .filter_map(|(b, e)| Some((u16::try_from(b).ok()?, u16::try_from(e).ok()?)))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_algebra() {
        let a = PortSet::from_ranges([(1024, 65535), (22, 22), (23, 23)]);
        assert_eq!(a.ranges(), &[(22, 23), (1024, 65535)]);
        let b = PortSet::from_ranges([(22, 22), (443, 443), (3389, 3389), (8080, 8080)]);
        let i = a.intersect(&b);
        assert_eq!(i.ranges(), &[(22, 22), (3389, 3389), (8080, 8080)]);
        let s = i.subtract(&PortSet::range(3389, 3389));
        assert_eq!(s.ranges(), &[(22, 22), (8080, 8080)]);
        assert!(s.contains(8080) && !s.contains(8081) && !s.contains(0));
        assert_eq!(PortSet::all().subtract(&PortSet::all()), PortSet::empty());
        assert_eq!(
            PortSet::all().subtract(&PortSet::range(0, 0)).ranges(),
            &[(1, 65535)]
        );
    }
}
