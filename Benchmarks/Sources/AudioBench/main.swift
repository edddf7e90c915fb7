import MailvoxAudio
print(AudioLibraries.sndfileVersion)
