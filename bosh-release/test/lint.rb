# Checks what neither `bosh create-release` nor bosh-cli's renderer checks,
# and a director finds only at deploy: every p()/if_p() in a job's
# templates and monit file names a declared property, and every property
# has a description, default and example; job and package specs name
# themselves and each other consistently. (Rendering itself is tested with
# bosh-cli's own renderer: tests/bosh, tests/bosh_release.rs.)
#   ruby lint.rb RELEASE_DIR     (errors on stderr, exit 1 when any)
require 'yaml'

def lint(release_dir)
  errors = []
  packages = Dir.children(File.join(release_dir, 'packages')).sort
  packages.each do |name|
    dir = File.join(release_dir, 'packages', name)
    spec = YAML.load_file(File.join(dir, 'spec'))
    errors << "package #{name}: spec names it '#{spec['name']}'" unless spec['name'] == name
    errors << "package #{name}: no packaging script" unless File.file?(File.join(dir, 'packaging'))
  end
  Dir.children(File.join(release_dir, 'jobs')).sort.each do |name|
    dir = File.join(release_dir, 'jobs', name)
    spec = YAML.load_file(File.join(dir, 'spec'))
    declared = (spec['properties'] || {}).keys
    errors << "job #{name}: spec names it '#{spec['name']}'" unless spec['name'] == name
    errors << "job #{name}: no monit file" unless File.file?(File.join(dir, 'monit'))
    (spec['packages'] || []).each do |package|
      errors << "job #{name}: package '#{package}' does not exist" unless packages.include?(package)
    end
    declared.each do |property|
      definition = spec['properties'][property] || {}
      %w[description default example].each do |key|
        errors << "job #{name}: property #{property} has no #{key}" unless definition.key?(key)
      end
    end
    sources = (spec['templates'] || {}).keys.map { |source| File.join('templates', source) } + ['monit']
    sources.each do |source|
      path = File.join(dir, source)
      unless File.file?(path)
        errors << "job #{name}: #{source} does not exist"
        next
      end
      File.read(path).scan(/\b(?:if_)?p\(([^)]*)\)/).flatten.each do |args|
        args.scan(/['"]([^'"]+)['"]/).flatten.each do |property|
          errors << "job #{name}: #{source} uses undeclared property '#{property}'" unless declared.include?(property)
        end
      end
    end
  end
  errors
end

errors = lint(ARGV.fetch(0) { abort 'usage: lint.rb RELEASE_DIR' })
errors.each { |e| warn e }
exit(errors.empty? ? 0 : 1)
