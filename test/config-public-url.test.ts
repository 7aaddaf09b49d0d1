/** AUDTRAIL_PUBLIC_URL (issue 23, item 3): an http(s) base URL, trailing slashes dropped. */
import { describe, expect, it } from 'vitest'
import { CONFIG_VARIABLES, loadConfig } from '../src/config.js'
import { ConfigError } from '../src/errors.js'

describe('AUDTRAIL_PUBLIC_URL', () => {
  it('is unset by default: links stay relative', () => {
    expect(loadConfig({}).publicUrl).toBeUndefined()
    expect(CONFIG_VARIABLES).toContain('AUDTRAIL_PUBLIC_URL')
  })

  it('takes an http(s) URL, with a path, without its trailing slashes', () => {
    expect(loadConfig({ AUDTRAIL_PUBLIC_URL: 'https://audtrail.example.com/' }).publicUrl).toBe(
      'https://audtrail.example.com',
    )
    expect(
      loadConfig({ AUDTRAIL_PUBLIC_URL: 'https://soc.example.com/audtrail//' }).publicUrl,
    ).toBe('https://soc.example.com/audtrail')
  })

  it.each([
    'ftp://audtrail.example.com',
    'audtrail.example.com',
    'https://a.example/?x=1',
    'https://a.example/#top',
  ])('refuses %s', (value) => {
    expect(() => loadConfig({ AUDTRAIL_PUBLIC_URL: value })).toThrow(ConfigError)
    try {
      loadConfig({ AUDTRAIL_PUBLIC_URL: value })
    } catch (err) {
      expect(String((err as Error).message)).toContain('AUDTRAIL_PUBLIC_URL')
    }
  })
})
