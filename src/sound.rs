//! Feedback sounds: a beep on a good scan, a buzz on a bad one, a chime on a
//! committed sale. Played by rodio on a thread of its own (the audio device
//! handle must stay on one thread); a terminal with no sound card, or a
//! build without the `sound` feature, stays silent and says nothing: the
//! screen's flash carries the same news.

use std::path::PathBuf;
use std::sync::mpsc;

use crate::counter::Sound;

/// The file of each sound under `assets/sounds/`.
pub fn file_name(sound: Sound) -> &'static str {
    match sound {
        Sound::Good => "scan-good.wav",
        Sound::Bad => "scan-bad.wav",
        Sound::Confirm => "confirm.wav",
    }
}

/// Where the sound files are.
pub fn sounds_dir() -> PathBuf {
    crate::assets::assets_dir().join("sounds")
}

/// The sound player's handle.
#[derive(Debug)]
pub struct Sounds {
    queue: Option<mpsc::Sender<Sound>>,
}

impl Sounds {
    /// Starts the player thread (it opens the audio device on first use).
    pub fn open() -> Sounds {
        let (queue, sounds) = mpsc::channel::<Sound>();
        let spawned = std::thread::Builder::new()
            .name("sounds".into())
            .spawn(move || player(sounds));
        Sounds {
            queue: spawned.ok().map(|_| queue),
        }
    }

    /// A player that plays nothing (tests, screenshots).
    pub fn silent() -> Sounds {
        Sounds { queue: None }
    }

    /// Plays `sound` without waiting.
    pub fn play(&self, sound: Sound) {
        if let Some(queue) = &self.queue {
            let _ = queue.send(sound);
        }
    }
}

#[cfg(feature = "sound")]
fn player(sounds: mpsc::Receiver<Sound>) {
    use std::collections::HashMap;
    let dir = sounds_dir();
    let mut device: Option<rodio::MixerDeviceSink> = None;
    let mut tried = false;
    let mut cache: HashMap<Sound, std::sync::Arc<[u8]>> = HashMap::new();
    for sound in sounds {
        if device.is_none() && !tried {
            tried = true;
            device = rodio::DeviceSinkBuilder::open_default_sink().ok();
        }
        let Some(device) = &device else {
            continue;
        };
        let bytes = match cache.get(&sound) {
            Some(b) => b.clone(),
            None => match std::fs::read(dir.join(file_name(sound))) {
                Ok(b) => {
                    let b: std::sync::Arc<[u8]> = b.into();
                    cache.insert(sound, b.clone());
                    b
                }
                Err(_) => continue,
            },
        };
        if let Ok(source) = rodio::Decoder::try_from(std::io::Cursor::new(bytes)) {
            device.mixer().add(source);
        }
    }
}

#[cfg(not(feature = "sound"))]
fn player(sounds: mpsc::Receiver<Sound>) {
    for _ in sounds {}
}
