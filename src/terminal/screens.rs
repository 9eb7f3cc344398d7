//! Which screens are attached, for the customer-facing second display
//! (issue 24): the kernel lists every display connector under
//! `/sys/class/drm` (`card0-HDMI-A-1`, `card0-eDP-1`, ...) with its
//! `status` (`connected`) and its `modes` (`1920x1080` first, the
//! preferred one). Reading them needs no display server and no extra
//! library, and works the same under X, Wayland and a kiosk compositor.
//!
//! Where the second window goes: compositors lay screens out left to
//! right by default, so the customer display is put on the second
//! connected screen in connector order, to the right of the first, full
//! screen. A till whose screens are laid out otherwise sets the
//! display's position in `[customer_display]` (`x`, `y`).

use std::path::Path;

use crate::config::{CustomerDisplayMode, CustomerDisplaySettings};

/// A connected screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Screen {
    /// The connector (`card0-HDMI-A-1`).
    pub connector: String,
    /// Its preferred mode's width in pixels (0 when the kernel lists none).
    pub width: u32,
    /// Its preferred mode's height in pixels.
    pub height: u32,
}

/// Where the customer display's window goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// Left edge, in the desktop's pixels.
    pub x: i32,
    /// Top edge.
    pub y: i32,
    /// Full screen on the screen it lands on (else a window, for a till
    /// with one screen and the display forced on).
    pub fullscreen: bool,
}

/// The screens connected now, in connector order; none when `drm` cannot
/// be read (no DRM driver, a container).
pub fn connected_screens(drm: &Path) -> Vec<Screen> {
    let Ok(entries) = std::fs::read_dir(drm) else {
        return Vec::new();
    };
    let mut screens: Vec<Screen> = entries
        .flatten()
        .filter_map(|entry| {
            let connector = entry.file_name().to_string_lossy().into_owned();
            // Connectors are `cardN-<name>`; `card0` itself and
            // `renderD128` are devices, not screens.
            if !connector.starts_with("card") || !connector.contains('-') {
                return None;
            }
            let status = std::fs::read_to_string(entry.path().join("status")).ok()?;
            if status.trim() != "connected" {
                return None;
            }
            let modes = std::fs::read_to_string(entry.path().join("modes")).unwrap_or_default();
            let (width, height) = modes.lines().next().and_then(parse_mode).unwrap_or((0, 0));
            Some(Screen {
                connector,
                width,
                height,
            })
        })
        .collect();
    screens.sort_by(|a, b| a.connector.cmp(&b.connector));
    screens
}

/// `1920x1080` (some drivers add a suffix: `1920x1080i`).
fn parse_mode(line: &str) -> Option<(u32, u32)> {
    let (w, h) = line.trim().split_once('x')?;
    let h: String = h.chars().take_while(char::is_ascii_digit).collect();
    Some((w.parse().ok()?, h.parse().ok()?))
}

/// Whether and where to open the customer display, given the settings and
/// the screens attached.
pub fn placement(settings: &CustomerDisplaySettings, screens: &[Screen]) -> Option<Placement> {
    let second = screens.get(1);
    let open = match settings.mode {
        CustomerDisplayMode::Off => false,
        CustomerDisplayMode::On => true,
        CustomerDisplayMode::Auto => second.is_some(),
    };
    if !open {
        return None;
    }
    let beside_first = screens
        .first()
        .map_or(0, |s| i32::try_from(s.width).unwrap_or(i32::MAX));
    Some(Placement {
        x: settings
            .x
            .unwrap_or(if second.is_some() { beside_first } else { 0 }),
        y: settings.y.unwrap_or(0),
        fullscreen: second.is_some() || settings.x.is_some(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

    use super::*;

    fn connector(root: &Path, name: &str, status: &str, modes: &str) {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("status"), format!("{status}\n")).unwrap();
        std::fs::write(dir.join("modes"), modes).unwrap();
    }

    fn settings(mode: CustomerDisplayMode) -> CustomerDisplaySettings {
        CustomerDisplaySettings {
            mode,
            ..CustomerDisplaySettings::default()
        }
    }

    #[test]
    fn connected_connectors_are_screens_in_connector_order() {
        let drm = tempfile::tempdir().unwrap();
        connector(
            drm.path(),
            "card0-HDMI-A-1",
            "connected",
            "1024x600\n800x480\n",
        );
        connector(drm.path(), "card0-eDP-1", "connected", "1366x768\n");
        connector(drm.path(), "card0-DP-1", "disconnected", "");
        std::fs::create_dir_all(drm.path().join("card0")).unwrap();
        std::fs::create_dir_all(drm.path().join("renderD128")).unwrap();
        let screens = connected_screens(drm.path());
        let names: Vec<&str> = screens.iter().map(|s| s.connector.as_str()).collect();
        assert_eq!(names, ["card0-HDMI-A-1", "card0-eDP-1"]);
        assert_eq!((screens[0].width, screens[0].height), (1024, 600));
        assert_eq!((screens[1].width, screens[1].height), (1366, 768));
    }

    #[test]
    fn no_drm_folder_means_no_screens() {
        let none = tempfile::tempdir().unwrap();
        assert!(connected_screens(&none.path().join("missing")).is_empty());
        assert_eq!(parse_mode("1920x1080i"), Some((1920, 1080)));
        assert_eq!(parse_mode("garbage"), None);
    }

    #[test]
    fn auto_opens_beside_the_first_screen_only_when_a_second_is_attached() {
        let one = [Screen {
            connector: "card0-eDP-1".into(),
            width: 1280,
            height: 800,
        }];
        let mut two = one.to_vec();
        two.push(Screen {
            connector: "card0-HDMI-A-1".into(),
            width: 1024,
            height: 600,
        });
        assert_eq!(placement(&settings(CustomerDisplayMode::Auto), &one), None);
        assert_eq!(
            placement(&settings(CustomerDisplayMode::Auto), &two),
            Some(Placement {
                x: 1280,
                y: 0,
                fullscreen: true
            })
        );
        assert_eq!(placement(&settings(CustomerDisplayMode::Off), &two), None);
        // Forced on with one screen: a window, not over the counter.
        assert_eq!(
            placement(&settings(CustomerDisplayMode::On), &one),
            Some(Placement {
                x: 0,
                y: 0,
                fullscreen: false
            })
        );
        let placed = CustomerDisplaySettings {
            mode: CustomerDisplayMode::Auto,
            x: Some(-1024),
            y: Some(0),
        };
        assert_eq!(placement(&placed, &two).map(|p| p.x), Some(-1024));
    }
}
